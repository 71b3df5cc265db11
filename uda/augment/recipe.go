package augment

import (
	"fmt"
	"strings"
)

// Recipe holds a benchmark's transforms, as the paper's code builds them
// (utils/data_loader.py and utils/FixMatch.py; spec §2.4 and §1.6). Each
// produces Size×Size images; the loader converts to RGB before and
// normalises with CLIP's mean and standard deviation after.
type Recipe struct {
	Benchmark string
	Size      int
	// Train is the training transform, and FixMatch's weak view.
	Train Transform
	// Test is the evaluation transform.
	Test Transform
	// Strong is FixMatch's strong view of a target image.
	Strong Transform
}

// Benchmarks lists the names ForBenchmark accepts.
var Benchmarks = []string{"office31", "officehome", "imageclef", "domainnet", "visda", "digits"}

// ForBenchmark returns the recipe of a benchmark for models of input size
// size (224 in the paper). Sizes other than 224 scale the paper's 256-pixel
// pre-crop resize in proportion, rounded: 32 for 28, 37 for 32.
//
//	office31, officehome,  train  Resize([R, R]) → RandomCrop(S) → RandomHorizontalFlip
//	imageclef, domainnet   test   Resize([S, S])
//	visda                  train  Resize([S, S]) → RandomHorizontalFlip → CenterCrop(S)
//	                       test   Resize([S, S]) → CenterCrop(S)
//	digits                 train  RandomResizedCrop(S, scale (0.75, 1.2))
//	                       test   Resize(S) (shorter side)
//
// The strong view is Resize([R, R]) → CenterCrop(S) → RandomHorizontalFlip
// → ColorJitter(0.4, 0.4, 0.4, 0) → RandAugment rand-n2-m10-mstd0.5, with
// R = S for visda. The digits' USPS → MNIST source transform is USPSTrain.
func ForBenchmark(name string, size int) (Recipe, error) {
	if size <= 0 {
		return Recipe{}, fmt.Errorf("augment: recipe %s: size %d", name, size)
	}
	pre := PreCropSize(size)
	flip := HorizontalFlip{P: 0.5}
	r := Recipe{Benchmark: name, Size: size, Strong: strong(pre, size)}
	switch name {
	case "office31", "officehome", "imageclef", "domainnet":
		r.Train = Compose{Resize{pre, pre}, RandomCrop{size, size}, flip}
		r.Test = Resize{size, size}
	case "visda":
		r.Train = Compose{Resize{size, size}, flip, CenterCrop{size, size}}
		r.Test = Compose{Resize{size, size}, CenterCrop{size, size}}
		r.Strong = strong(size, size)
	case "digits":
		r.Train = RandomResizedCrop{Size: size, Scale: [2]float64{0.75, 1.2}, Ratio: [2]float64{3.0 / 4, 4.0 / 3}}
		r.Test = ResizeShorter{size}
	default:
		return Recipe{}, fmt.Errorf("augment: unknown benchmark %q (want one of %s)", name, strings.Join(Benchmarks, ", "))
	}
	return r, nil
}

// PreCropSize is the side the paper's pipelines resize to before cropping
// size pixels: 256 for 224, and in the same proportion, rounded, for other
// sizes.
func PreCropSize(size int) int { return (size*256 + 112) / 224 }

// strong is FixMatch's strong view: resize to pre×pre, centre crop.
func strong(pre, size int) Transform {
	return Compose{
		Resize{pre, pre},
		CenterCrop{size, size},
		HorizontalFlip{P: 0.5},
		ColorJitter{Brightness: 0.4, Contrast: 0.4, Saturation: 0.4},
		FixMatchRandAugment(),
	}
}

// USPSTrain is the paper's training transform of USPS as the source of
// USPS → MNIST: Resize(28) → Pad(4) → RandomCrop(28) → RandomRotation(10)
// → Resize(size), the resizes on the shorter side.
func USPSTrain(size int) Transform {
	return Compose{ResizeShorter{28}, Pad{4}, RandomCrop{28, 28}, RandomRotation{10}, ResizeShorter{size}}
}
