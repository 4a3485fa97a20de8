/* Output and small parsing helpers shared by the commands. */
#include "cli.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

void cli_error(const cli_t *cli, const char *what, int rc) {
    fprintf(stderr, "mccache %s: %s: %s\n", cli->command, what,
            *mccache_last_error() ? mccache_last_error() : mccache_strerror(rc));
}

int cli_exit_of(int rc) {
    switch (rc) {
        case MCCACHE_OK: return EXIT_OK_;
        case MCCACHE_ENOTFOUND: return EXIT_NOTFOUND;
        case MCCACHE_ETIMEDOUT: return EXIT_INCOMPLETE;
        case MCCACHE_ECONFIG: return EXIT_CONFIG;
        case MCCACHE_EINVAL: return EXIT_USAGE;
        default: return EXIT_FAIL;
    }
}

/* The length of the UTF-8 sequence at p (0 if invalid). */
static size_t utf8_len(const unsigned char *p, size_t left) {
    size_t n = p[0] < 0x80 ? 1 : (p[0] >> 5) == 6 ? 2 : (p[0] >> 4) == 14 ? 3 : (p[0] >> 3) == 30 ? 4 : 0;
    if (n == 0 || n > left) return 0;
    for (size_t i = 1; i < n; ++i)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return n;
}

static int printable_utf8(const unsigned char *p, size_t len) {
    for (size_t i = 0; i < len;) {
        size_t n = utf8_len(p + i, len - i);
        if (n == 0 || (n == 1 && (p[i] < 0x20 || p[i] == 0x7f) && p[i] != '\t' && p[i] != '\n')) return 0;
        i += n;
    }
    return 1;
}

void cli_print_escaped(const void *data, size_t len, size_t max) {
    const unsigned char *p = data;
    size_t shown = len < max ? len : max;
    for (size_t i = 0; i < shown;) {
        size_t n = utf8_len(p + i, shown - i);
        if (n > 1 || (n == 1 && p[i] >= 0x20 && p[i] != 0x7f && p[i] != '\\')) {
            fwrite(p + i, 1, n, stdout);
            i += n;
        } else {
            if (p[i] == '\\') fputs("\\\\", stdout);
            else if (p[i] == '\n') fputs("\\n", stdout);
            else if (p[i] == '\t') fputs("\\t", stdout);
            else printf("\\x%02x", p[i]);
            i += 1;
        }
    }
    if (shown < len) printf("... (%zu bytes)", len);
}

void cli_json_bytes(cJSON *obj, const char *name, const void *data, size_t len) {
    const unsigned char *p = data;
    if (printable_utf8(p, len)) {
        char *s = malloc(len + 1);
        if (!s) return;
        memcpy(s, p, len);
        s[len] = '\0';
        cJSON_AddStringToObject(obj, name, s);
        free(s);
        return;
    }
    char key[64];
    snprintf(key, sizeof key, "%s_hex", name);
    char *hex = malloc(2 * len + 1);
    if (!hex) return;
    for (size_t i = 0; i < len; ++i) snprintf(hex + 2 * i, 3, "%02x", p[i]);
    hex[2 * len] = '\0';
    cJSON_AddStringToObject(obj, key, hex);
    free(hex);
}

void cli_print_json(cJSON *doc) {
    char *text = isatty(STDOUT_FILENO) ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc);
    if (text) puts(text);
    cJSON_free(text);
    cJSON_Delete(doc);
}

int cli_parse_duration_ms(const char *text, int64_t *out) {
    if (strcmp(text, "never") == 0) {
        *out = MCCACHE_TTL_NEVER;
        return 0;
    }
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || v < 0) return -1;
    double scale = 1000; /* seconds by default, as in the INI file */
    if (*end == '\0' || strcmp(end, "s") == 0) scale = 1000;
    else if (strcmp(end, "ms") == 0) scale = 1;
    else if (strcmp(end, "m") == 0) scale = 60000;
    else if (strcmp(end, "h") == 0) scale = 3600000;
    else if (strcmp(end, "d") == 0) scale = 86400000;
    else return -1;
    double ms = v * scale;
    if (ms < 1 || ms > 3650.0 * 86400000) return -1;
    *out = (int64_t)ms;
    return 0;
}
