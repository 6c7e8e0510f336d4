//go:build !linux

package loader

// RemoveUnmapped removes the copies in dir that a process which ended
// staged and never opened. Without /proc/self/maps it cannot tell which
// opened copies a live plugin still maps, so it keeps them all. The
// caller must be the only user of dir. It returns the first error met.
func RemoveUnmapped(dir string) error { return removeStaged(dir) }

// removeIfUnmapped keeps the copy: whether dlopen still maps it is unknown.
func removeIfUnmapped(name string) {}
