module berth.test/oracles/gogzip

go 1.21
