package mccache

// The //export trampolines, and nothing else: cgo forbids definitions in the
// preamble of a file that exports Go functions (see go-sqlite3's callback.go).
// The C shims that call them live in the preamble of cgo.go.

/*
#include <stdint.h>
#include "mccache.h"
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

//export mcgoChange
func mcgoChange(h C.uintptr_t, ev *C.mccache_event_t, data unsafe.Pointer, vlen C.size_t) {
	defer recoverCallback("change")
	cgo.Handle(h).Value().(*callback).change(eventFromC(ev, data, vlen))
}

//export mcgoLog
func mcgoLog(h C.uintptr_t, level C.int, msg *C.char) {
	defer recoverCallback("log")
	cgo.Handle(h).Value().(*callback).log(LogLevel(level), goString(msg))
}

//export mcgoMember
func mcgoMember(h C.uintptr_t, m *C.mccache_member_t) {
	defer recoverCallback("member")
	cgo.Handle(h).Value().(*callback).member(memberFromC(m))
}

//export mcgoReply
func mcgoReply(h C.uintptr_t, member C.uint64_t, json *C.char) {
	defer recoverCallback("reply")
	cgo.Handle(h).Value().(*callback).reply(uint64(member), goBytes(json))
}

//export mcgoRelease
func mcgoRelease(h C.uintptr_t) {
	releaseHandle(cgo.Handle(h))
}

//export mcgoLoad
func mcgoLoad(h C.uintptr_t, load *C.mccache_load_t, key unsafe.Pointer, klen C.size_t) C.int {
	return cgo.Handle(h).Value().(*loadCall).run(load)
}
