/* vsrife native kernels: layout changes the fast path would otherwise do as strided torch copies (see
 * vsrife/native/__init__.py).
 *
 * pixel_shuffle: a channels_last map [h][w][4c] (fp32 or bf16) as F.pixel_shuffle(x, 2) in planar fp32
 * [c][2h][2w]: out[k][2i + dy][2j + dx] = x[i][j][4k + 2dy + dx]. One pass, converting as it goes; torch needs a
 * permuted copy (slow for a few channels) and a conversion.
 */
#include <stdint.h>
#include <string.h>

static inline float bf16_to_f32(uint16_t h) {
    const uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Returns 0; -1 for a channel count that is not a multiple of 4. */
int vsrife_pixel_shuffle(const void *x, int h, int w, int cin, int bf16, float *out) {
    if (cin < 4 || cin % 4) return -1;
    const int c = cin / 4, ho = 2 * h, wo = 2 * w;
    #pragma omp parallel for schedule(static)
    for (long r = 0; r < (long)c * ho; r++) {
        const int k = (int)(r / ho), y = (int)(r % ho), i = y / 2, dy = y % 2;
        float *restrict o = out + r * wo;
        const int ch = 4 * k + 2 * dy;
        if (bf16) {
            const uint16_t *restrict s = (const uint16_t *)x + (size_t)i * w * cin + ch;
            for (int j = 0; j < w; j++) {
                o[2 * j] = bf16_to_f32(s[(size_t)j * cin]);
                o[2 * j + 1] = bf16_to_f32(s[(size_t)j * cin + 1]);
            }
        } else {
            const float *restrict s = (const float *)x + (size_t)i * w * cin + ch;
            for (int j = 0; j < w; j++) {
                o[2 * j] = s[(size_t)j * cin];
                o[2 * j + 1] = s[(size_t)j * cin + 1];
            }
        }
    }
    return 0;
}
