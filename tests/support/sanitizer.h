#pragma once

// RSE_ASAN is 1 in a build under AddressSanitizer (scripts/sanitize.sh), whose quarantine and
// redzones change memory and timing numbers that plain builds assert. g++ says so with
// __SANITIZE_ADDRESS__, clang through __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define RSE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSE_ASAN 1
#endif
#endif
#ifndef RSE_ASAN
#define RSE_ASAN 0
#endif
