module example.com/stdtax

go 1.26.0
