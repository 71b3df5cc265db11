package pretrain

import (
	"math"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
)

// TestContrastiveLossHand checks the loss on a 3×3 batch whose first and
// last captions are equal against a computation written out by hand:
//
//	T = [[½ 0 ½] [0 1 0] [½ 0 ½]]
//	loss = ½ (mean_i −Σ_j T_ij log softmax(L_i·)_j + mean_j −Σ_i T_ij log softmax(L_·j)_i)
//
// and against the value and gradient a float64 script computed
// independently (central differences for the gradient).
func TestContrastiveLossHand(t *testing.T) {
	L := [3][3]float64{{2, 0, 1}, {0.5, 1, -1}, {1, 0, 3}}
	T := [3][3]float64{{0.5, 0, 0.5}, {0, 1, 0}, {0.5, 0, 0.5}}
	lse := func(v [3]float64) float64 { return math.Log(math.Exp(v[0]) + math.Exp(v[1]) + math.Exp(v[2])) }
	var i2t, t2i float64
	for i := range 3 {
		col := [3]float64{L[0][i], L[1][i], L[2][i]}
		for j := range 3 {
			i2t -= T[i][j] * (L[i][j] - lse(L[i])) / 3
			t2i -= T[j][i] * (L[j][i] - lse(col)) / 3
		}
	}
	hand := (i2t + t2i) / 2
	const script = 0.8818590050304254
	wantGrad := [9]float64{
		0.04896211247551463, 0.05032868843901639, -0.10632685021327859,
		0.08140863516636898, -0.14163102041164777, 0.015595303159976481,
		-0.10909681724680098, 0.04232527062164593, 0.11843467773164917,
	}

	logits := tensor.FromFloat64([]float64{2, 0, 1, 0.5, 1, -1, 1, 0, 3}, 3, 3).SetRequiresGrad(true)
	loss := ContrastiveLoss(logits, []string{"the number 7", "the letter k", "the number 7"})
	got := float64(loss.Item())
	if math.Abs(hand-script) > 1e-12 {
		t.Fatalf("hand computation %.12f, script %.12f", hand, script)
	}
	if math.Abs(got-hand) > 1e-5 {
		t.Errorf("loss %.7f, want %.7f", got, hand)
	}
	loss.Backward()
	for k, g := range logits.Grad().Data() {
		if math.Abs(float64(g)-wantGrad[k]) > 1e-5 {
			t.Errorf("d loss / d logits[%d][%d] = %.6f, want %.6f", k/3, k%3, g, wantGrad[k])
		}
	}
}

func TestContrastiveLossCases(t *testing.T) {
	rng := tensor.NewRNG(3)
	random := tensor.RandN(rng, 5, 5)
	distinct := []string{"a", "b", "c", "d", "e"}
	labels := []int{0, 1, 2, 3, 4}
	// With distinct captions the loss is CLIP's: the mean of the two
	// cross-entropies with the diagonal as labels.
	clip := 0.5 * (float64(tensor.CrossEntropy(random, labels, 0).Item()) + float64(tensor.CrossEntropy(random.T().Contiguous(), labels, 0).Item()))
	tests := []struct {
		name     string
		logits   *tensor.Tensor
		captions []string
		want     float64
	}{
		{"distinct captions are CLIP's loss", random, distinct, clip},
		{"uniform logits give ln N", tensor.Zeros(5, 5), distinct, math.Log(5)},
		{"uniform logits with duplicates give ln N", tensor.Zeros(5, 5), []string{"a", "a", "b", "a", "b"}, math.Log(5)},
		// All captions equal: every target is uniform, the loss of uniform
		// logits is ln N and nothing is a negative.
		{"one caption", tensor.Zeros(4, 4), []string{"x", "x", "x", "x"}, math.Log(4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := float64(ContrastiveLoss(tt.logits, tt.captions).Item()); math.Abs(got-tt.want) > 1e-5 {
				t.Errorf("loss %.6f, want %.6f", got, tt.want)
			}
		})
	}
}
