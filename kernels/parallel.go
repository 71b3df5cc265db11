package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
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
	fn      func(lo, hi int)
	lo, hi  int
	wg      *sync.WaitGroup
	pending *atomic.Int32 // chunks not yet finished, for the caller to poll
	panic   *any          // where a panicking chunk leaves its value
}

// run calls the chunk, recording a panic instead of crashing the worker.
func (t task) run() {
	defer t.wg.Done()
	defer t.pending.Add(-1)
	defer func() {
		if r := recover(); r != nil {
			*t.panic = r
		}
	}()
	t.fn(t.lo, t.hi)
}

type workerPool struct {
	// busy is held by the ParallelFor that owns the workers. A call that
	// finds it held (a nested call from inside a chunk, or a call from
	// another goroutine) runs its chunks itself, so no call ever waits for
	// workers that are waiting for it.
	busy  sync.Mutex
	tasks chan task
}

func newWorkerPool(n int) *workerPool {
	p := &workerPool{tasks: make(chan task, n)}
	for i := 0; i < n; i++ {
		go p.work()
	}
	return p
}

// spinFor is how long an idle worker polls for its next task, and a caller
// for its workers' chunks, before blocking: on this project's 2-core VM a
// blocked goroutine took 30-40 µs to wake, longer than many chunks take, so
// a network's small layers ran slower on two threads than on one
// (BenchmarkParallelFor). Polling yields the thread to other goroutines.
const spinFor = 200 * time.Microsecond

// spinUntil polls done until it reports true or spinFor has passed, and
// reports whether it did.
func spinUntil(done func() bool) bool {
	start := time.Now()
	for {
		for range 64 {
			if done() {
				return true
			}
		}
		if time.Since(start) > spinFor {
			return false
		}
		runtime.Gosched() // let other goroutines have the thread meanwhile
	}
}

// work runs tasks until the pool is closed.
func (p *workerPool) work() {
	for {
		var (
			t       task
			ok, got bool
		)
		polled := spinUntil(func() bool {
			select {
			case t, ok = <-p.tasks:
				got = true
			default:
			}
			return got
		})
		if !polled {
			t, ok = <-p.tasks
		}
		if !ok {
			return
		}
		t.run()
	}
}

// SetThreads sets the number of threads kernels may use; n < 1 means
// runtime.GOMAXPROCS(0). It must not be called while kernels are running.
func SetThreads(n int) {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	poolMu.Lock()
	defer poolMu.Unlock()
	if n == threads {
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

// freeThreads returns the threads a ParallelFor called now would run its
// chunks on: Threads(), or 1 when the workers are busy with another call
// (from inside one of its chunks, say), which leaves a new call to run its
// chunks one after another on the caller's goroutine. The answer can be
// stale by the time the caller acts on it; it serves choices of speed,
// never of results.
func freeThreads() int {
	p, t := getPool()
	if p == nil || t <= 1 || !p.busy.TryLock() {
		return 1
	}
	p.busy.Unlock()
	return t
}

// ParallelFor splits [0, n) into at most Threads() contiguous chunks of at
// least grain elements and calls fn on each, the first chunk on the calling
// goroutine. The split depends only on n, grain and the thread count, so a
// computation whose chunks are independent gives the same result on every run.
//
// ParallelFor may be called from inside fn, or from several goroutines at
// once: a call that finds the workers busy runs its chunks one after another
// on its own goroutine, with the same chunk boundaries. A panic in fn is
// raised again in the caller after every chunk has returned.
func ParallelFor(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	p, t := getPool()
	chunks := min(t, (n+grain-1)/grain)
	if chunks <= 1 {
		fn(0, n)
		return
	}
	if p == nil || !p.busy.TryLock() {
		for i := 0; i < chunks; i++ {
			fn(i*n/chunks, (i+1)*n/chunks)
		}
		return
	}
	defer p.busy.Unlock()
	var (
		wg      sync.WaitGroup
		pending atomic.Int32
		panics  = make([]any, chunks)
	)
	wg.Add(chunks)
	pending.Store(int32(chunks))
	for i := 1; i < chunks; i++ {
		p.tasks <- task{fn: fn, lo: i * n / chunks, hi: (i + 1) * n / chunks, wg: &wg, pending: &pending, panic: &panics[i]}
	}
	task{fn: fn, lo: 0, hi: n / chunks, wg: &wg, pending: &pending, panic: &panics[0]}.run()
	spinUntil(func() bool { return pending.Load() == 0 })
	wg.Wait()
	for _, r := range panics {
		if r != nil {
			panic(r)
		}
	}
}
