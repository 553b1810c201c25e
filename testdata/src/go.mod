module rehabtest

go 1.22
