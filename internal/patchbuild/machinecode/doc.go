// Package machinecode compares compiled code with a release binary's: it
// reads the compiler's -S listing of a package (its symbols' bytes and
// relocations, by name) and proves, reference by reference, whether a
// function of the binary is what the linker would have made of the
// listing's function at the same address. patchbuild's no-op check uses
// it to leave out targets whose new code is the release's.
package machinecode
