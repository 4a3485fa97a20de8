// A program outside the libmccache source tree that uses the Go binding, as
// a new user's would: go.mod requires the binding's module and a replace
// directive points it at a checkout (the module path is not fetchable);
// cgo finds the library through pkg-config (mccache.pc of an install), and
// the rpath in that .pc's Libs lets the binary find libmccache.so.0 at run
// time without LD_LIBRARY_PATH. Built and run by the test Install::consume.
package main

import (
	"fmt"
	"log"

	"github.com/libmccache/mccache/bindings/go/mccache"
)

func main() {
	// transport=none: a local cache; the example talks to no network.
	node, err := mccache.Open(mccache.WithoutEnv(), mccache.WithSetting("transport", "none"))
	if err != nil {
		log.Fatal(err)
	}
	defer node.Close()
	users, err := node.Cache("users")
	if err != nil {
		log.Fatal(err)
	}
	if err := users.Set([]byte("alice"), []byte("admin"), mccache.TTLDefault); err != nil {
		log.Fatal(err)
	}
	v, err := users.Get([]byte("alice"))
	if err != nil {
		log.Fatal(err)
	}
	n, _ := users.Len()
	fmt.Printf("go: users[alice] = %s (%d entry)\n", v, n)
}
