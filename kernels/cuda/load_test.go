package cuda

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// fakeDL is a dynamic loader that knows some libraries and their symbols.
type fakeDL struct {
	libs   map[string][]string // path → symbols
	opened []string
}

func (f *fakeDL) open(path string) (uintptr, error) {
	f.opened = append(f.opened, path)
	if _, ok := f.libs[path]; !ok {
		return 0, errors.New(path + ": cannot open shared object file")
	}
	return uintptr(len(f.opened)), nil
}

func (f *fakeDL) sym(h uintptr, name string) (uintptr, error) {
	for _, s := range f.libs[f.opened[h-1]] {
		if s == name {
			return 1, nil
		}
	}
	return 0, errors.New("undefined symbol: " + name)
}

func (f *fakeDL) register(fptr any, addr uintptr) {}

// symbolsOf returns the sym tags of the fields of api.
func symbolsOf(api any) []string {
	var s []string
	t := reflect.TypeOf(api).Elem()
	for i := 0; i < t.NumField(); i++ {
		s = append(s, t.Field(i).Tag.Get("sym"))
	}
	return s
}

func TestCandidates(t *testing.T) {
	got := candidates("/opt/a::/opt/b", []string{"libx.so.1", "libx.so"})
	want := []string{"/opt/a/libx.so.1", "/opt/a/libx.so", "/opt/b/libx.so.1", "/opt/b/libx.so", "libx.so.1", "libx.so"}
	if len(got) != len(want)+2*len(standardDirs) {
		t.Fatalf("%d candidates, want %d", len(got), len(want)+2*len(standardDirs))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("candidate %d = %s, want %s", i, got[i], want[i])
		}
	}
}

func TestLoadErrors(t *testing.T) {
	drv, blas := symbolsOf(&driverAPI{}), symbolsOf(&blasAPI{})
	t.Setenv(LibEnv, "")
	for _, c := range []struct {
		name string
		libs map[string][]string
		want []string
	}{
		{"no driver", map[string][]string{}, []string{"the NVIDIA driver library (libcuda.so.1) not found", "/usr/local/cuda/lib64", LibEnv}},
		{"old driver", map[string][]string{"libcuda.so.1": drv[:len(drv)-1]},
			[]string{"libcuda.so.1 has no symbol " + drv[len(drv)-1]}},
		{"no cuBLAS", map[string][]string{"libcuda.so.1": drv}, []string{"cuBLAS (libcublas.so.13, libcublas.so.12, libcublas.so.11, libcublas.so) not found"}},
		{"cuBLAS without sgemm", map[string][]string{"libcuda.so.1": drv, "libcublas.so.12": blas[:4]},
			[]string{"libcublas.so.12 has no symbol cublasSgemm_v2"}},
		{"all there", map[string][]string{"libcuda.so.1": drv, "libcublas.so.11": blas}, nil},
	} {
		_, err := loadWith(&fakeDL{libs: c.libs})
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v, want an error with %q", c.name, err, w)
			}
		}
	}
}
