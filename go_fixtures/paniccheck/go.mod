module example.com/paniccheck

go 1.22
