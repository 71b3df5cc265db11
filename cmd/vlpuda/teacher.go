package main

import "errors"

// teacherPath returns the teacher checkpoint the demo starts from: path
// if given, otherwise the embedded mini-CLIP.
func teacherPath(path, cache string) (string, error) {
	if path != "" {
		return path, nil
	}
	return "", errors.New("this vlpuda has no embedded teacher: make one with 'vlpuda pretrain -out uda/teacher/minclip.safetensors -tower resnet -steps 3000 -batch 128 -lr 1e-4 -seed 1', commit it and rebuild, or pass -teacher MODEL")
}
