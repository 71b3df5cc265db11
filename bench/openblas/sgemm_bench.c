/*
 * sgemm_bench times OpenBLAS's cblas_sgemm (row-major, C = A*B) on the
 * shapes of vlpuda's GEMM benchmark and prints one JSON line per shape and
 * thread count:
 *
 *	{"lib":"openblas","m":50,"n":2304,"k":768,"threads":2,"gflops":165.3}
 *
 * Usage: sgemm_bench [-t 1,2] [-s 0.3] [M N K ...]
 *   -t  comma-separated thread counts (default 1,2)
 *   -s  seconds spent per shape and thread count (default 0.3); the best
 *       repetition is reported
 *   M N K  shapes to time instead of the default list
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Exported by OpenBLAS; not in every cblas.h. */
extern void openblas_set_num_threads(int);

static const int default_shapes[][3] = {
	{256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024}, {2048, 2048, 2048},
	{50, 2304, 768}, {50, 3072, 768}, {50, 768, 3072},
	{197, 2304, 768}, {197, 3072, 768}, {197, 768, 3072},
	{1576, 3072, 768}, {1576, 768, 3072},
};

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static float *random_matrix(size_t n, unsigned *seed) {
	float *x = malloc(n * sizeof *x);
	if (x == NULL) {
		fprintf(stderr, "sgemm_bench: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < n; i++)
		x[i] = (float)rand_r(seed) / RAND_MAX - 0.5f;
	return x;
}

/* best_gflops runs C = A*B repeatedly for about secs and returns the best rate. */
static double best_gflops(int m, int n, int k, double secs) {
	unsigned seed = 1;
	float *a = random_matrix((size_t)m * k, &seed);
	float *b = random_matrix((size_t)k * n, &seed);
	float *c = calloc((size_t)m * n, sizeof *c);
	double flop = 2.0 * m * n * k, best = 0;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
	for (double start = now(); now() - start < secs || best == 0;) {
		double t0 = now();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
		double g = flop / (now() - t0) / 1e9;
		if (g > best)
			best = g;
	}
	free(a);
	free(b);
	free(c);
	return best;
}

int main(int argc, char **argv) {
	int threads[16] = {1, 2}, nthreads = 2;
	double secs = 0.3;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
			nthreads = 0;
			for (char *tok = strtok(argv[++i], ","); tok != NULL && nthreads < 16; tok = strtok(NULL, ","))
				threads[nthreads++] = atoi(tok);
		} else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			secs = atof(argv[++i]);
		} else {
			fprintf(stderr, "usage: sgemm_bench [-t 1,2] [-s seconds] [M N K ...]\n");
			return 2;
		}
	}
	int nshapes = (argc - i) / 3;
	int (*shapes)[3] = (int (*)[3])default_shapes;
	if (nshapes == 0) {
		nshapes = sizeof default_shapes / sizeof default_shapes[0];
	} else {
		shapes = malloc(nshapes * sizeof *shapes);
		for (int s = 0; s < nshapes; s++)
			for (int d = 0; d < 3; d++)
				shapes[s][d] = atoi(argv[i + 3 * s + d]);
	}
	for (int t = 0; t < nthreads; t++) {
		openblas_set_num_threads(threads[t]);
		for (int s = 0; s < nshapes; s++) {
			int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
			printf("{\"lib\":\"openblas\",\"m\":%d,\"n\":%d,\"k\":%d,\"threads\":%d,\"gflops\":%.1f}\n",
			       m, n, k, threads[t], best_gflops(m, n, k, secs));
			fflush(stdout);
		}
	}
	return 0;
}
