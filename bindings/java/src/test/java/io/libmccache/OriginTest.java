package io.libmccache;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The origin codes of mccache.h map one to one. */
class OriginTest {
    @Test
    void mapsEveryOriginOfTheHeader() {
        assertEquals(Origin.LOCAL, Origin.of(0));
        assertEquals(Origin.REMOTE, Origin.of(1));
        assertEquals(Origin.REPAIR, Origin.of(2));
    }
}
