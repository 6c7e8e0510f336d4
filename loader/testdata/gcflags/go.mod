module example.com/gcflags

go 1.26.0
