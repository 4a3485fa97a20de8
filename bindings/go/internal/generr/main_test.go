package main

import (
	"bytes"
	"os"
	"testing"
)

// The committed errors_gen.go must be what the current header generates.
func TestErrorsGenIsUpToDate(t *testing.T) {
	header, err := os.ReadFile("../../../../include/mccache.h")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Generate(header)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../mccache/errors_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("mccache/errors_gen.go is stale: run `go generate ./...` in bindings/go")
	}
}

func TestGenerateRejectsAHeaderWithoutTheEnum(t *testing.T) {
	if _, err := Generate([]byte("int x;")); err == nil {
		t.Fatal("Generate accepted a header without the error enum")
	}
}

func TestNewCodesGetMechanicalNames(t *testing.T) {
	src, err := Generate([]byte("typedef enum mccache_err {\n    MCCACHE_OK = 0,\n    MCCACHE_EFROB = -99 /**< Frobbed. */\n} mccache_err;"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte("ErrFrob Errno = -99")) {
		t.Fatalf("no ErrFrob in:\n%s", src)
	}
}
