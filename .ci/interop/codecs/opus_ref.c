/* libopus reference encoder/decoder for telox's interop stage, same settings as telox's
 * codec_tool: OPUS_APPLICATION_VOIP, 20 ms frames, VBR, given bitrate and complexity.
 *   opus_ref enc IN.s16 RATE CH BITRATE COMPLEXITY OUT.pkts
 *   opus_ref dec IN.pkts RATE CH OUT.s16
 * .pkts: each packet preceded by its length as a 16-bit little-endian integer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <opus.h>

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
    int err = 0;
    long len;
    if (argc == 8 && strcmp(argv[1], "enc") == 0) {
        int rate = atoi(argv[3]), ch = atoi(argv[4]);
        int frame = rate / 50;
        unsigned char *in = slurp(argv[2], &len);
        OpusEncoder *e = opus_encoder_create(rate, ch, OPUS_APPLICATION_VOIP, &err);
        if (err != OPUS_OK) { fprintf(stderr, "create: %s\n", opus_strerror(err)); return 1; }
        opus_encoder_ctl(e, OPUS_SET_BITRATE(atoi(argv[5])));
        opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(atoi(argv[6])));
        FILE *out = fopen(argv[7], "wb");
        long samples = len / 2;
        unsigned char pkt[4000];
        for (long i = 0; i + (long)frame * ch <= samples; i += (long)frame * ch) {
            int n = opus_encode(e, (const opus_int16 *)in + i, frame, pkt, sizeof pkt);
            if (n < 0) { fprintf(stderr, "encode: %s\n", opus_strerror(n)); return 1; }
            unsigned char hdr[2] = { n & 0xff, (n >> 8) & 0xff };
            fwrite(hdr, 1, 2, out);
            fwrite(pkt, 1, n, out);
        }
        fclose(out);
        opus_encoder_destroy(e);
        return 0;
    }
    if (argc == 6 && strcmp(argv[1], "dec") == 0) {
        int rate = atoi(argv[3]), ch = atoi(argv[4]);
        unsigned char *in = slurp(argv[2], &len);
        OpusDecoder *d = opus_decoder_create(rate, ch, &err);
        if (err != OPUS_OK) { fprintf(stderr, "create: %s\n", opus_strerror(err)); return 1; }
        FILE *out = fopen(argv[5], "wb");
        opus_int16 pcm[5760 * 2];
        long pos = 0;
        while (pos + 2 <= len) {
            int n = in[pos] | (in[pos + 1] << 8);
            pos += 2;
            if (pos + n > len) break;
            int got = opus_decode(d, in + pos, n, pcm, 5760, 0);
            if (got < 0) { fprintf(stderr, "decode: %s\n", opus_strerror(got)); return 1; }
            fwrite(pcm, sizeof(opus_int16), (size_t)got * ch, out);
            pos += n;
        }
        fclose(out);
        opus_decoder_destroy(d);
        return 0;
    }
    fprintf(stderr, "usage: opus_ref enc IN RATE CH BITRATE COMPLEXITY OUT | dec IN RATE CH OUT\n");
    return 2;
}
