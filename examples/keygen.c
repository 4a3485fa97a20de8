/* Prints a new cluster key for crypto_key (docs/SECURITY.md, "Keys"):
 * 32 bytes from the OS's random source, base64-encoded.
 *
 *   build/examples/keygen                    # prints the key
 *   MCCACHE_CRYPTO_KEY=$(build/examples/keygen) ./your-app
 */
#include <stdio.h>

#include "mccache.h"

int main(void) {
    char key[64];
    int rc = mccache_generate_key(key, sizeof key);
    if (rc != MCCACHE_OK) {
        fprintf(stderr, "keygen: %s: %s\n", mccache_err_name(rc), mccache_last_error());
        return 1;
    }
    int ok = puts(key) >= 0 && fflush(stdout) == 0;
    /* The key is a secret: leave no copy behind in this process (through a
     * volatile pointer, which the compiler may not optimise away). */
    volatile char *wipe = key;
    for (size_t i = 0; i < sizeof key; ++i) wipe[i] = 0;
    if (!ok) {
        perror("keygen");
        return 1;
    }
    return 0;
}
