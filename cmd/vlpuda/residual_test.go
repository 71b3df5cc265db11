package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/internal/fixture"
	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/uda/rst"
	"github.com/vlpuda/vlpuda/vlp"
)

// residualFixture saves a random tiny ViT CLIP (the fixture's
// architecture) as the base model, moves its image tower as training
// would, applies RST and writes the residual with a two-tensor head. It
// returns the paths of the base model and the residual, and the residual.
func residualFixture(t *testing.T, seed uint64) (model, path string, r *rst.Residual) {
	t.Helper()
	cfg, err := vlp.ReadConfig(fixture.Path(t, "clip-tiny", "vit", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := vlp.New(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	model = filepath.Join(dir, "base.safetensors")
	if err := vlp.Save(model, m, false); err != nil {
		t.Fatal(err)
	}
	params := rst.ImageTower(m)
	p := rst.New(params, 1e-4)
	rng := tensor.NewRNG(seed + 1)
	for _, prm := range params {
		for i := range prm.Tensor.Data() {
			if rng.IntN(100) == 0 { // about 1 % move past τ
				prm.Tensor.Data()[i] += 1e-3
			}
		}
	}
	p.Project()
	head := []nn.Named{
		{Name: "head.fc.weight", Tensor: tensor.RandN(rng, 31, 32)},
		{Name: "head.ln.weight", Tensor: tensor.Ones(32)},
	}
	r = p.Residual(rst.Float32, rst.DenseTensors(head), map[string]string{"dataset": "office31", "task": "A2W"})
	path = filepath.Join(dir, "task.vlpr")
	if err := rst.WriteFile(path, r, false); err != nil {
		t.Fatal(err)
	}
	return model, path, r
}

func TestResidualInspect(t *testing.T) {
	model, path, r := residualFixture(t, 1)
	code, stdout, stderr := runVlpuda(t, "residual", "inspect", path, "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got rst.Summary
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, stdout)
	}
	const visual = 115712 // image-tower parameters of the tiny ViT (see TestInspectFixtures)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Path != path || got.Bytes != int(info.Size()) || got.Encoding != "float32" || !got.BitExact ||
		got.Base != r.Base.String() || got.Numel != visual || got.NonZero != r.NonZero() {
		t.Errorf("got %+v\nwant path %s, %d bytes, float32 bit-exact, base %s, %d non-zeros of %d",
			got, path, info.Size(), r.Base, r.NonZero(), visual)
	}
	if d := float64(got.NonZero) / visual; got.Density != d || d < 0.005 || d > 0.02 {
		t.Errorf("density %g, want %g near 1 %%", got.Density, d)
	}
	if got.BytesPerNonZero <= 4 || got.BytesPerNonZero > 6 ||
		got.BytesPerNonZero != float64(got.IndexBytes+got.ValueBytes)/float64(got.NonZero) || got.ValueBytes != 4*got.NonZero {
		t.Errorf("bytes per non-zero %g (indices %d, values %d), want in (4, 6]", got.BytesPerNonZero, got.IndexBytes, got.ValueBytes)
	}
	if len(got.Sparse) != len(r.Sparse) || len(got.Dense) != 2 || got.DenseNumel != 31*32+32 || got.Meta["task"] != "A2W" {
		t.Errorf("%d sparse, %d dense tensors (%d values), metadata %v; want %d, 2 (1024), task A2W",
			len(got.Sparse), len(got.Dense), got.DenseNumel, got.Meta, len(r.Sparse))
	}
	sum := 0
	for _, s := range got.Sparse {
		sum += s.NonZero
	}
	if sum != got.NonZero {
		t.Errorf("per-tensor non-zeros sum to %d, total %d", sum, got.NonZero)
	}

	code, stdout, stderr = runVlpuda(t, "residual", "inspect", "-model", model, path)
	if code != 0 {
		t.Fatalf("text output: exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"values          float32, bit-exact",
		"base            " + r.Base.String(),
		"base model      matches " + model,
		"non-zeros       " + groupDigits(r.NonZero()) + " of 115,712",
		"meta dataset    office31",
		"visual.conv1.weight",
		"64×3×8×8",
		"head.fc.weight  31×32",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("text output lacks %q:\n%s", want, stdout)
		}
	}
}

// TestResidualBadInput checks the usage errors (exit 2) and that a damaged
// file or a residual for another base model exits 1 with a message naming
// the file and the problem.
func TestResidualBadInput(t *testing.T) {
	_, path, r := residualFixture(t, 2)
	otherModel, _, _ := residualFixture(t, 3)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	flipped := []byte(string(good))
	flipped[len(flipped)/2] ^= 1
	tests := []struct {
		name   string
		args   []string
		code   int
		errHas []string
	}{
		{"no subcommand", []string{"residual"}, 2, []string{"usage: vlpuda residual inspect"}},
		{"unknown subcommand", []string{"residual", "apply", path}, 2, []string{"usage: vlpuda residual inspect"}},
		{"no file", []string{"residual", "inspect"}, 2, []string{"usage: vlpuda residual inspect"}},
		{"truncated", []string{"residual", "inspect", writeFile(t, dir, "a.vlpr", string(good[:len(good)/3]))}, 1,
			[]string{"a.vlpr", "truncated"}},
		{"bad magic", []string{"residual", "inspect", writeFile(t, dir, "b.vlpr", "PK\x03\x04 not a residual")}, 1,
			[]string{"b.vlpr", "bad magic"}},
		{"checksum", []string{"residual", "inspect", writeFile(t, dir, "c.vlpr", string(flipped))}, 1,
			[]string{"c.vlpr", "checksum mismatch"}},
		{"missing", []string{"residual", "inspect", filepath.Join(dir, "d.vlpr")}, 1, []string{"d.vlpr", "no such file"}},
		{"other base model", []string{"residual", "inspect", "-model", otherModel, path}, 1,
			[]string{path, "residual was made for a different base model: fingerprint " + r.Base.String(), otherModel + " has "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runVlpuda(t, tt.args...)
			ok := code == tt.code && stdout == ""
			for _, s := range tt.errHas {
				ok = ok && strings.Contains(stderr, s)
			}
			if !ok {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and a message with %q", code, stdout, stderr, tt.code, tt.errHas)
			}
		})
	}
}
