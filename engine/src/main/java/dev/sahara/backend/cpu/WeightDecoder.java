package dev.sahara.backend.cpu;

import dev.sahara.model.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Decodes rows of a bf16 / f16 / f32 weight into float32 (bf16 → f32 is a 16-bit shift, vectorised). */
final class WeightDecoder {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private WeightDecoder() {}

    /** dst[dstOff .. dstOff+count) = elements [first, first+count) of w as float32. */
    static void decode(MemorySegment w, DType dtype, long first, int count, float[] dst, int dstOff) {
        switch (dtype) {
            case F32 -> MemorySegment.copy(w, F32_LE, first * 4, dst, dstOff, count);
            case BF16 -> {
                int i = 0;
                int upper = count - count % F.length();
                for (; i < upper; i += F.length()) {
                    ShortVector s = ShortVector.fromMemorySegment(S, w, (first + i) * 2, ByteOrder.LITTLE_ENDIAN);
                    IntVector wide = (IntVector) s.convertShape(VectorOperators.S2I, I, 0);
                    wide.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, dstOff + i);
                }
                for (; i < count; i++) dst[dstOff + i] = Float.intBitsToFloat((w.get(I16_LE, (first + i) * 2) & 0xffff) << 16);
            }
            case F16 -> {
                for (int i = 0; i < count; i++) dst[dstOff + i] = Float.float16ToFloat(w.get(I16_LE, (first + i) * 2));
            }
        }
    }
}
