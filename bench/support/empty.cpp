// Anchor for the object library that carries the generated ISA translation units.
