# The fuzz targets, one list for the libFuzzer build (fuzz/CMakeLists.txt), the regression
# replays (fuzz/tests.cmake) and scripts/fuzz.sh and sanitize.sh (which read the set() line
# below through scripts/lib/fuzz-targets.sh).
# Each name N is fuzz/N.cpp, with seeds in fuzz/seeds/N/ and regressions in fuzz/regressions/N/.
set(RSE_FUZZ_TARGETS resp_reader info sentinel_reply ckquorum address pipeline web_config probe_config http_request events http_response)
