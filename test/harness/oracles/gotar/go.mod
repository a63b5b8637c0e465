module berth.test/gotar

go 1.22
