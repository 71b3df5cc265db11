package kernels

import (
	"runtime"
	"sync"
)

// The worker pool: a fixed set of goroutines that run the chunks of a
// ParallelFor. It is created lazily and replaced when SetThreads changes the
// thread count.
var (
	poolMu  sync.Mutex
	threads = runtime.GOMAXPROCS(0)
	pool    *workerPool
)

type task struct {
	fn     func(lo, hi int)
	lo, hi int
	wg     *sync.WaitGroup
}

type workerPool struct {
	tasks chan task
}

func newWorkerPool(n int) *workerPool {
	p := &workerPool{tasks: make(chan task, n)}
	for i := 0; i < n; i++ {
		go func() {
			for t := range p.tasks {
				t.fn(t.lo, t.hi)
				t.wg.Done()
			}
		}()
	}
	return p
}

// SetThreads sets the number of threads kernels may use; n < 1 means
// runtime.GOMAXPROCS(0). It must not be called while kernels are running.
func SetThreads(n int) {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	poolMu.Lock()
	defer poolMu.Unlock()
	if n == threads && pool != nil {
		return
	}
	if pool != nil {
		close(pool.tasks)
		pool = nil
	}
	threads = n
}

// Threads reports the number of threads kernels use.
func Threads() int {
	poolMu.Lock()
	defer poolMu.Unlock()
	return threads
}

func getPool() (*workerPool, int) {
	poolMu.Lock()
	defer poolMu.Unlock()
	if pool == nil && threads > 1 {
		pool = newWorkerPool(threads - 1)
	}
	return pool, threads
}

// ParallelFor splits [0, n) into at most Threads() contiguous chunks of at
// least grain elements and calls fn on each, the first chunk on the calling
// goroutine. The split depends only on n, grain and the thread count, so a
// computation whose chunks are independent gives the same result on every run.
func ParallelFor(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	p, t := getPool()
	chunks := min(t, (n+grain-1)/grain)
	if chunks <= 1 || p == nil {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	wg.Add(chunks - 1)
	for i := 1; i < chunks; i++ {
		p.tasks <- task{fn: fn, lo: i * n / chunks, hi: (i + 1) * n / chunks, wg: &wg}
	}
	fn(0, n/chunks)
	wg.Wait()
}
