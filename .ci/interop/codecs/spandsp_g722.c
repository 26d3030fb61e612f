/* G.722 64 kbit/s through spandsp (an independent implementation) for telox's interop
 * stage: "enc IN.s16 OUT.g722" or "dec IN.g722 OUT.s16" (16 kHz, 16-bit LE, mono). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <spandsp.h>

static unsigned char *slurp(const char *path, long *len) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END); *len = ftell(f); fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(*len ? *len : 1);
    if (fread(buf, 1, *len, f) != (size_t)*len) { perror("read"); exit(2); }
    fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s enc|dec IN OUT\n", argv[0]); return 2; }
    long len;
    unsigned char *in = slurp(argv[2], &len);
    FILE *out = fopen(argv[3], "wb");
    if (!out) { perror(argv[3]); return 2; }
    if (strcmp(argv[1], "enc") == 0) {
        g722_encode_state_t *s = g722_encode_init(NULL, 64000, 0);
        int n = (int)(len / 2);
        uint8_t *codes = malloc(n / 2 + 1);
        int got = g722_encode(s, codes, (const int16_t *)in, n);
        fwrite(codes, 1, got, out);
        g722_encode_free(s);
    } else {
        g722_decode_state_t *s = g722_decode_init(NULL, 64000, 0);
        int16_t *pcm = malloc(len * 2 * sizeof(int16_t) + 2);
        int got = g722_decode(s, pcm, in, (int)len);
        fwrite(pcm, sizeof(int16_t), got, out);
        g722_decode_free(s);
    }
    fclose(out);
    return 0;
}
