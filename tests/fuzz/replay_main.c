/* Replays fuzzer inputs in the normal test suite: runs the harness it is linked with
 * on every file of the directories given (sorted, so failures are reproducible) and
 * names each file before running it, so a crash points at its input. An input that
 * takes longer than REPLAY_MAX_SECONDS fails: the fuzzers count a slow input as a hang. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/fuzz/fuzz.h"

/* Generous: ASan and a busy machine; the inputs take milliseconds. */
#define REPLAY_MAX_SECONDS 10.0

static double now_seconds(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads a whole file into a malloc'd buffer (never NULL, also for an empty file). */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
        FILE *f = fopen(path, "rb");
        if (!f)
                return -1;
        uint8_t *buf = NULL;
        size_t n = 0, cap = 0;
        int r = 0;
        for (;;) {
                if (n == cap) {
                        cap = cap ? cap * 2 : 4096;
                        uint8_t *b = realloc(buf, cap);
                        if (!b) {
                                r = -1;
                                break;
                        }
                        buf = b;
                }
                size_t got = fread(buf + n, 1, cap - n, f);
                n += got;
                if (got == 0)
                        break;
        }
        if (ferror(f))
                r = -1;
        fclose(f);
        if (r < 0) {
                free(buf);
                return r;
        }
        *out = buf;
        *len = n;
        return 0;
}

static int replay_dir(const char *dir)
{
        struct dirent **names;
        int n = scandir(dir, &names, NULL, alphasort);
        if (n < 0) {
                perror(dir);
                return -1;
        }
        int replayed = 0, failed = 0;
        for (int i = 0; i < n; i++) {
                char path[4096];
                if (names[i]->d_name[0] != '.') {
                        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
                        uint8_t *data = NULL;
                        size_t len = 0;
                        if (read_file(path, &data, &len) < 0) {
                                perror(path);
                                failed = 1;
                        } else {
                                printf("replay %s (%zu bytes)\n", path, len);
                                fflush(stdout);
                                double start = now_seconds();
                                LLVMFuzzerTestOneInput(data, len);
                                double took = now_seconds() - start;
                                free(data);
                                replayed++;
                                if (took > REPLAY_MAX_SECONDS) {
                                        fprintf(stderr, "%s: took %.1f s, more than %.0f s\n", path,
                                                took, REPLAY_MAX_SECONDS);
                                        failed = 1;
                                }
                        }
                }
                free(names[i]);
        }
        free(names);
        printf("%s: %d inputs replayed\n", dir, replayed);
        return failed ? -1 : replayed;
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                fprintf(stderr, "usage: %s DIR...\n", argv[0]);
                return 2;
        }
        int total = 0;
        for (int i = 1; i < argc; i++) {
                int r = replay_dir(argv[i]);
                if (r < 0)
                        return 1;
                total += r;
        }
        if (total == 0) {
                fprintf(stderr, "no inputs found in the directories given\n");
                return 1;
        }
        return 0;
}
