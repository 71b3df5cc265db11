package cuda

import (
	"math"
	"strings"
	"testing"
	"unsafe"
)

func TestArgsPacking(t *testing.T) {
	a := new(Args).Ptr(0x7f00_1234_5678).F32(-1.5).U32(4096).F32(float32(math.Inf(1))).Ptr(0)
	wantKinds := []ParamKind{ParamU64, ParamF32, ParamU32, ParamF32, ParamU64}
	if got := kindList(a.Kinds()); got != kindList(wantKinds) {
		t.Fatalf("kinds %s, want %s", got, kindList(wantKinds))
	}
	p := a.pointers()
	if len(p) != 5 {
		t.Fatalf("%d pointers, want 5", len(p))
	}
	for i, ptr := range p {
		if uintptr(ptr)%8 != 0 {
			t.Errorf("argument %d is not 8-byte aligned", i)
		}
	}
	if v := *(*uint64)(p[0]); v != 0x7f00_1234_5678 {
		t.Errorf("pointer argument = %#x", v)
	}
	if v := *(*float32)(p[1]); v != -1.5 {
		t.Errorf("f32 argument = %v", v)
	}
	if v := *(*uint32)(p[2]); v != 4096 {
		t.Errorf("u32 argument = %v", v)
	}
	if v := *(*float32)(p[3]); !math.IsInf(float64(v), 1) {
		t.Errorf("f32 argument = %v", v)
	}
	// A 4-byte value leaves the slot's high bytes zero.
	if hi := *(*uint32)(unsafe.Add(p[2], 4)); hi != 0 {
		t.Errorf("high bytes of a u32 slot = %#x", hi)
	}
}

func TestArgsCheck(t *testing.T) {
	params := []ParamKind{ParamU64, ParamF32}
	for _, c := range []struct {
		args *Args
		ok   bool
	}{
		{new(Args).Ptr(1).F32(1), true},
		{new(Args).Ptr(1), false},
		{new(Args).Ptr(1).U32(1), false},
		{new(Args).Ptr(1).F32(1).F32(1), false},
	} {
		err := c.args.check("k", params)
		if (err == nil) != c.ok {
			t.Errorf("check(%s): %v", kindList(c.args.kinds), err)
		}
		if err != nil && !strings.Contains(err.Error(), "kernel k takes (.u64, .f32)") {
			t.Errorf("error %q does not name the kernel's parameters", err)
		}
	}
}
