package dev.sahara.backend.cpu;

import dev.sahara.backend.Weight;
import dev.sahara.model.DType;

import java.lang.foreign.MemorySegment;

/** A weight read in place from the memory-mapped checkpoint, in its own dtype. */
public record CpuWeight(MemorySegment data, DType dtype, int rows, int cols) implements Weight {}
