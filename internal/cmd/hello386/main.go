// Command hello386 prints "ok". The Makefile runs it built for another
// architecture to learn whether this machine can run such binaries before
// it runs a test suite built for them.
package main

import "fmt"

func main() { fmt.Println("ok") }
