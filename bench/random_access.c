/* Random cache-line reads per second on this machine: the floor under an exact MIH query, which
 * costs a few thousand dependent-free random reads (directory entries, buckets, candidate codes).
 *
 *   cc -O2 -o /tmp/random_access bench/random_access.c && /tmp/random_access
 *
 * For arrays of 4 MiB to 512 MiB (2 MiB pages requested), reads 4M random 4-byte words, issuing
 * BATCH prefetches and then the BATCH reads, and prints nanoseconds per read, for prefetches into
 * L1 (T0) and into L2 (T1). A prefetch into L1 holds one of the core's L1 miss buffers (about two
 * dozen) until its line arrives, which caps the misses in flight; one into L2 does not. On the
 * development VM (2-vCPU AMD EPYC, Zen 4 class) the best at 128-512 MiB is ~8.5-10 ns with T0 and
 * ~5-6 ns with T1 (vigil-index prefetches with T1).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <xmmintrin.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
    const size_t iters = 1u << 22;
    uint32_t *idx = malloc(iters * sizeof *idx);
    size_t sizes_mb[] = {4, 32, 128, 512};
    int batches[] = {1, 16, 64, 256};
    for (size_t si = 0; si < sizeof sizes_mb / sizeof *sizes_mb; si++) {
        size_t n = (sizes_mb[si] << 20) / 4;
        uint32_t *a = aligned_alloc(2 << 20, n * 4);
        madvise(a, n * 4, MADV_HUGEPAGE);
        for (size_t i = 0; i < n; i++) a[i] = (uint32_t)(i * 2654435761u);
        uint64_t x = 88172645463325252ull;
        for (size_t i = 0; i < iters; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            idx[i] = (uint32_t)(x % n);
        }
        for (int hint = 0; hint < 2; hint++) {
            for (size_t bi = 0; bi < sizeof batches / sizeof *batches; bi++) {
                int b = batches[bi];
                uint64_t s = 0;
                double t = now();
                for (size_t i = 0; i < iters; i += b) {
                    if (hint == 0)
                        for (int j = 0; j < b; j++)
                            _mm_prefetch((const char *)&a[idx[i + j]], _MM_HINT_T0);
                    else
                        for (int j = 0; j < b; j++)
                            _mm_prefetch((const char *)&a[idx[i + j]], _MM_HINT_T1);
                    for (int j = 0; j < b; j++) s += a[idx[i + j]];
                }
                double e = now() - t;
                printf("%4zu MiB  T%d  batch %3d  %6.2f ns/read  (checksum %llu)\n", sizes_mb[si],
                       hint, b, e / iters * 1e9, (unsigned long long)(s & 0xff));
            }
        }
        free(a);
    }
    free(idx);
    return 0;
}
