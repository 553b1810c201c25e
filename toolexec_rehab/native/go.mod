module toolexec-rehab/native

go 1.18
