/*
 * Lets Debian 12's civetweb 1.15 serve HTTPS with OpenSSL 3.
 *
 * civetweb loads OpenSSL at run time: dlopen("libssl.so") and dlopen("libcrypto.so"), the
 * unversioned names that only the -dev packages install, then dlsym() of every function it
 * uses. One of them, SSL_get_peer_certificate, is only a macro in OpenSSL 3 (the function is
 * SSL_get1_peer_certificate), so the lookup fails and the first HTTPS connection crashes.
 *
 * This tiny library is built twice, as "libssl.so" (linked to libssl.so.3, adding the missing
 * symbol) and as "libcrypto.so" (linked to libcrypto.so.3), and installed in a private
 * directory that the exporter names in its DT_RPATH. glibc searches the main program's
 * DT_RPATH for a dlopen() made by a library without RUNPATH, so civetweb finds these, and
 * dlsym() on them finds everything else in their OpenSSL 3 dependencies. No LD_LIBRARY_PATH,
 * no copy of OpenSSL, and nothing outside our own directory changes.
 */
#include <openssl/ssl.h>

#ifdef RSE_SHIM_SSL
#undef SSL_get_peer_certificate
X509* SSL_get_peer_certificate(const SSL* ssl);
X509* SSL_get_peer_certificate(const SSL* ssl) { return SSL_get1_peer_certificate(ssl); }
#else
/* libcrypto.so: nothing to add; it exists to depend on libcrypto.so.3. */
int rse_crypto_shim_marker(void);
int rse_crypto_shim_marker(void) { return 0; }
#endif
