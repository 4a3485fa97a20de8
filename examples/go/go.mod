module example.com/mccache-go-example

go 1.24.0

require github.com/libmccache/mccache/bindings/go v0.0.0

// The binding is consumed from a checkout of libmccache: point this at
// yours (an absolute path, or relative to this go.mod).
replace github.com/libmccache/mccache/bindings/go => ../../bindings/go
