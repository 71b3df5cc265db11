package digits

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The fake apt-get serves $FAKE_DEBS/<pkg>.tar as <pkg>_1.0_all.deb, fails
// like an offline machine when $FAKE_OFFLINE is set, and fills $FAKE_LISTS
// on update. The fake dpkg-deb prints the "deb", which is a plain tar.
const (
	fakeAptGet = `#!/bin/sh
case "$1" in
update)
	mkdir -p "$FAKE_LISTS" && touch "$FAKE_LISTS/deb.example_bookworm_main_binary-amd64_Packages"
	echo "fake update" >> "$FAKE_LOG" ;;
download)
	echo "fake download $2" >> "$FAKE_LOG"
	if [ -n "$FAKE_OFFLINE" ]; then
		echo "E: Failed to fetch http://deb.debian.org/debian/pool/$2.deb  Temporary failure resolving 'deb.debian.org'" >&2
		exit 100
	fi
	if [ ! -f "$FAKE_DEBS/$2.tar" ]; then
		echo "E: Unable to locate package $2" >&2
		exit 100
	fi
	cp "$FAKE_DEBS/$2.tar" "./$2_1.0_all.deb" ;;
*)
	exit 1 ;;
esac
`
	fakeDpkgDeb = `#!/bin/sh
[ "$1" = --fsys-tarfile ] && exec cat "$2"
exit 2
`
)

// fakeFiles is the table the fake packages hold: two files of pkg-a, one of pkg-b.
var fakeFiles = []struct {
	f       debFile
	content string
}{
	{debFile{"pkg-a", "usr/share/a/digits.png", sumHex([]byte("alpha")), kindOpenCV}, "alpha"},
	{debFile{"pkg-a", "usr/share/a/photo.jpg", sumHex([]byte("photo")), kindMNISTM}, "photo"},
	{debFile{"pkg-b", "usr/lib/b/digits.csv.gz", sumHex([]byte("bravo")), kindOptdigits}, "bravo"},
}

// fakeEnv is a fetcher wired to the fake commands, packages and folders.
type fakeEnv struct {
	f    *fetcher
	logs *[]string
	root string // the fake system root
}

// newFakeEnv writes the fake commands and packages and returns a fetcher
// that uses them, with a non-empty package index and a stub MNIST.
func newFakeEnv(t *testing.T) fakeEnv {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake apt-get and dpkg-deb are shell scripts")
	}
	base := t.TempDir()
	bin, debs, lists := filepath.Join(base, "bin"), filepath.Join(base, "debs"), filepath.Join(base, "lists")
	for _, d := range []string{bin, debs, lists} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, script := range map[string]string{"apt-get": fakeAptGet, "dpkg-deb": fakeDpkgDeb} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(lists, "x_Packages"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	byPkg := map[string]*tar.Writer{}
	bufs := map[string]*bytes.Buffer{}
	var files []debFile
	for _, ff := range fakeFiles {
		tw := byPkg[ff.f.pkg]
		if tw == nil {
			bufs[ff.f.pkg] = new(bytes.Buffer)
			tw = tar.NewWriter(bufs[ff.f.pkg])
			byPkg[ff.f.pkg] = tw
			// Something before the wanted files, as in a real package.
			tw.WriteHeader(&tar.Header{Name: "./usr/", Typeflag: tar.TypeDir, Mode: 0o755})
		}
		tw.WriteHeader(&tar.Header{Name: "./" + ff.f.member, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(ff.content))})
		tw.Write([]byte(ff.content))
		files = append(files, ff.f)
	}
	for pkg, tw := range byPkg {
		tw.WriteHeader(&tar.Header{Name: "./usr/share/doc/" + pkg + "/copyright", Typeflag: tar.TypeReg, Mode: 0o644, Size: 3})
		tw.Write([]byte("(c)"))
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(debs, pkg+".tar"), bufs[pkg].Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("FAKE_DEBS", debs)
	t.Setenv("FAKE_LISTS", lists)
	t.Setenv("FAKE_LOG", filepath.Join(base, "apt.log"))
	t.Setenv("FAKE_OFFLINE", "")

	root := filepath.Join(base, "root")
	old := systemRoot
	systemRoot = root
	t.Cleanup(func() { systemRoot = old })

	var logs []string
	f := &fetcher{
		cacheDir: filepath.Join(base, "cache"),
		files:    files,
		log:      func(s string) { logs = append(logs, s) },
		aptGet:   filepath.Join(bin, "apt-get"),
		dpkgDeb:  filepath.Join(bin, "dpkg-deb"),
		aptLists: lists,
		mnist:    func(context.Context) (string, error) { return "/mnist", nil },
	}
	return fakeEnv{f: f, logs: &logs, root: root}
}

// states returns the state of each file in r.
func states(r *Report) []State {
	var s []State
	for _, f := range r.Files {
		s = append(s, f.State)
	}
	return s
}

// wantStates fails t unless every file of r is in state want.
func wantStates(t *testing.T, r *Report, want State) {
	t.Helper()
	for _, f := range r.Files {
		if f.State != want {
			t.Errorf("%s: got %v (%v), want %v", f.Name, f.State, f.Err, want)
		}
	}
}

func TestFetchAndRerun(t *testing.T) {
	env := newFakeEnv(t)
	r, err := env.f.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantStates(t, r, Fetched)
	for _, ff := range fakeFiles {
		b, err := os.ReadFile(ff.f.cachePath(env.f.cacheDir))
		if err != nil || string(b) != ff.content {
			t.Errorf("%s: got %q, %v; want %q", ff.f.name(), b, err, ff.content)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(env.f.cacheDir, ".deb-*")); len(left) != 0 {
		t.Errorf("temporary folders left in the cache: %v", left)
	}
	for _, d := range []string{MNIST, OpenCV, Optdigits, Fonts} {
		if ok, err := r.Ready(d); !ok {
			t.Errorf("%s not ready: %v", d, err)
		}
	}

	// A rerun uses the cache.
	r, err = env.f.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantStates(t, r, Cached)

	// A damaged cached file is fetched again.
	p := fakeFiles[2].f.cachePath(env.f.cacheDir)
	if err := os.WriteFile(p, []byte("bravX"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err = env.f.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := states(r); got[0] != Cached || got[2] != Fetched {
		t.Errorf("after damaging %s: got states %v, want [cached cached fetched]", p, got)
	}
	if b, _ := os.ReadFile(p); string(b) != "bravo" {
		t.Errorf("%s: got %q after refetch, want %q", p, b, "bravo")
	}
	if !strings.Contains(strings.Join(*env.logs, "\n"), p+": sha256") {
		t.Errorf("log %q does not name the damaged file", *env.logs)
	}
}

func TestFetchFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(env fakeEnv)
		want  error  // wrapped by every missing file's error, if set
		say   string // in every missing file's error
	}{
		{"offline", func(env fakeEnv) { t.Setenv("FAKE_OFFLINE", "1") }, ErrDownload, "Temporary failure resolving"},
		{"no apt", func(env fakeEnv) { env.f.aptGet = "vlpuda-no-such-apt-get" }, ErrNoApt, "mnist and fonts domains work"},
		{"no dpkg-deb", func(env fakeEnv) { env.f.dpkgDeb = "vlpuda-no-such-dpkg-deb" }, ErrNoApt, "cannot be fetched here"},
		{"checksum", func(env fakeEnv) {
			for i := range env.f.files {
				env.f.files[i].sha256 = sumHex([]byte("something else"))
			}
		}, ErrChecksum, "ships a different file"},
		{"member not in package", func(env fakeEnv) {
			for i := range env.f.files {
				env.f.files[i].member += ".old"
			}
		}, ErrNotFetched, "is not in pkg-"},
		{"package unknown", func(env fakeEnv) {
			for i := range env.f.files {
				env.f.files[i].pkg = "pkg-z"
			}
		}, nil, "Unable to locate package pkg-z"},
		{"empty index, not root", func(env fakeEnv) { os.RemoveAll(env.f.aptLists) }, nil, "sudo apt-get update"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newFakeEnv(t)
			tc.setup(env)
			r, err := env.f.run(context.Background())
			if err != nil {
				t.Fatalf("got error %v, want a report", err)
			}
			wantStates(t, r, Missing)
			for _, f := range r.Files {
				if tc.want != nil && !errors.Is(f.Err, tc.want) || f.Err == nil || !strings.Contains(f.Err.Error(), tc.say) {
					t.Errorf("%s: got %v, want an error wrapping %v that says %q", f.Name, f.Err, tc.want, tc.say)
				}
			}
			if ok, err := r.Ready(OpenCV); ok || err == nil {
				t.Errorf("opencv: got ready, want missing")
			}
			for _, d := range []string{MNIST, Fonts} {
				if ok, err := r.Ready(d); !ok {
					t.Errorf("%s: got missing (%v), want ready", d, err)
				}
			}
			s := r.String()
			if !strings.Contains(s, "opencv     missing") || !strings.Contains(s, "mnist      ready") || !strings.Contains(s, tc.say) {
				t.Errorf("report does not say what is missing and why:\n%s", s)
			}
			if tc.name == "offline" {
				if got := strings.Count(s, tc.say); got != 3 {
					t.Errorf("report repeats the failure %d times, want once per missing domain (3):\n%s", got, s)
				}
				b, _ := os.ReadFile(os.Getenv("FAKE_LOG"))
				if got := strings.Count(string(b), "fake download"); got != 1 {
					t.Errorf("apt-get download ran %d times offline, want 1 (the other packages skipped)", got)
				}
			}
			if left, _ := filepath.Glob(filepath.Join(env.f.cacheDir, "debian", "*", "*")); len(left) != 0 {
				t.Errorf("files left in the cache: %v", left)
			}
		})
	}
}

func TestFetchUpdatesEmptyIndexAsRoot(t *testing.T) {
	env := newFakeEnv(t)
	os.RemoveAll(env.f.aptLists)
	env.f.canAdmin = true
	r, err := env.f.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantStates(t, r, Fetched)
	b, _ := os.ReadFile(os.Getenv("FAKE_LOG"))
	if got := strings.Count(string(b), "fake update"); got != 1 {
		t.Errorf("apt-get update ran %d times, want 1", got)
	}
}

func TestFetchCopiesInstalledFiles(t *testing.T) {
	env := newFakeEnv(t)
	env.f.aptGet = "vlpuda-no-such-apt-get"
	for _, ff := range fakeFiles[:2] {
		p := filepath.Join(env.root, ff.f.member)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(ff.content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := env.f.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := states(r); got[0] != Copied || got[1] != Copied || got[2] != Missing {
		t.Errorf("got states %v, want [copied copied missing]", got)
	}
}

func TestFetchCanceled(t *testing.T) {
	env := newFakeEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := env.f.run(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestFetchCacheNotWritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, dir string }{{"under a file", filepath.Join(file, "cache")}}
	if os.Geteuid() != 0 && runtime.GOOS != "windows" {
		// Permission bits do not stop root, so this case runs only as a user.
		ro := filepath.Join(t.TempDir(), "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, struct{ name, dir string }{"read-only", ro})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Fetch(context.Background(), tc.dir, nil)
			if !errors.Is(err, ErrCacheNotWritable) || !strings.Contains(err.Error(), tc.dir) {
				t.Errorf("got %v, want ErrCacheNotWritable naming %s", err, tc.dir)
			}
		})
	}
}

// TestLoadersReportCache checks the messages of loaders whose file is
// missing from the cache or damaged.
func TestLoadersReportCache(t *testing.T) {
	old := systemRoot
	systemRoot = t.TempDir()
	t.Cleanup(func() { systemRoot = old })
	cache := t.TempDir()
	loaders := map[string]func() error{
		"opencv":    func() error { _, err := LoadOpenCV(cache, All); return err },
		"optdigits": func() error { _, err := LoadOptdigits(cache); return err },
		"photos":    func() error { _, err := LoadPhotos(cache, MNISTMPool); return err },
	}
	files := map[string]debFile{"opencv": fileOf(kindOpenCV), "optdigits": fileOf(kindOptdigits), "photos": filesOf(kindMNISTM)[0]}
	for name, load := range loaders {
		t.Run(name+"/missing", func(t *testing.T) {
			err := load()
			if !errors.Is(err, ErrNotFetched) || !strings.Contains(err.Error(), files[name].pkg) {
				t.Errorf("got %v, want ErrNotFetched naming the package %s", err, files[name].pkg)
			}
		})
		t.Run(name+"/damaged", func(t *testing.T) {
			p := files[name].cachePath(cache)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte("damaged"), 0o644); err != nil {
				t.Fatal(err)
			}
			err := load()
			if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "delete it") {
				t.Errorf("got %v, want ErrChecksum naming %s and saying to delete it", err, p)
			}
		})
	}
}

// TestFetchSaysWhereFilesGo checks that where apt cannot fetch, a missing
// domain's error names each of its files with the path to copy it to, and
// that files copied there by hand make the domain ready.
func TestFetchSaysWhereFilesGo(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(env fakeEnv)
	}{
		{"no apt", func(env fakeEnv) { env.f.aptGet = "vlpuda-no-such-apt-get" }},
		{"offline", func(env fakeEnv) { t.Setenv("FAKE_OFFLINE", "1") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newFakeEnv(t)
			tc.setup(env)
			r, err := env.f.run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, ff := range fakeFiles {
				domain := map[fileKind]string{kindOpenCV: OpenCV, kindMNISTM: MNISTM, kindOptdigits: Optdigits}[ff.f.kind]
				ok, err := r.Ready(domain)
				if ok {
					t.Fatalf("%s ready without its files", domain)
				}
				dst := ff.f.cachePath(env.f.cacheDir)
				for _, want := range []string{dst, "/" + ff.f.member, "package " + ff.f.pkg} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("%s: error does not say %q:\n%v", domain, want, err)
					}
				}
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(dst, []byte(ff.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if r, err = env.f.run(context.Background()); err != nil {
				t.Fatal(err)
			}
			wantStates(t, r, Cached)
			for _, d := range []string{OpenCV, MNISTM, Optdigits} {
				if ok, err := r.Ready(d); !ok {
					t.Errorf("%s: not ready after copying its files by hand: %v", d, err)
				}
			}
		})
	}
}
