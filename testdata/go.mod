module github.com/vlpuda/vlpuda/testdata

go 1.26.0
