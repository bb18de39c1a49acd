package dev.sahara.backend.cpu;

import dev.sahara.model.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Decodes bf16 / f16 / f32 weights into float32, vectorised: bf16 → f32 is a 16-bit shift; f16 → f32 moves
 * exponent and mantissa into place and rescales by 2¹¹² (exact, subnormals included), with inf/NaN patched in
 * — bit-identical to {@link Float#float16ToFloat}.
 */
final class WeightDecoder {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private WeightDecoder() {}

    /** F.length() float32 values from f32 bytes at byteOffset. */
    static FloatVector f32(MemorySegment w, long byteOffset) { return FloatVector.fromMemorySegment(F, w, byteOffset, LE); }

    /** F.length() float32 values from bf16 bytes at byteOffset. */
    static FloatVector bf16(MemorySegment w, long byteOffset) {
        ShortVector s = ShortVector.fromMemorySegment(S, w, byteOffset, LE);
        return ((IntVector) s.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** F.length() float32 values from f16 bytes at byteOffset. */
    static FloatVector f16(MemorySegment w, long byteOffset) {
        ShortVector s = ShortVector.fromMemorySegment(S, w, byteOffset, LE);
        return f16((IntVector) s.convertShape(VectorOperators.S2I, I, 0));
    }

    /** float32 values of the f16 bit patterns in the low 16 bits of each lane of h. */
    static FloatVector f16(IntVector h) {
        IntVector em = h.and(0x7fff);
        IntVector shifted = em.lanewise(VectorOperators.LSHL, 13);
        IntVector bits = shifted.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
        VectorMask<Integer> special = em.compare(VectorOperators.GE, 0x7c00);
        bits = bits.blend(shifted.or(0x7f800000), special);
        bits = bits.blend(bits.or(0x00400000), em.compare(VectorOperators.GT, 0x7c00));   // NaN comes out quiet, as float16ToFloat does
        return bits.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
    }

    /** dst[dstOff .. dstOff+count) = elements [first, first+count) of w as float32. */
    static void decode(MemorySegment w, DType dtype, long first, int count, float[] dst, int dstOff) {
        int L = F.length(), upper = count - count % L, i = 0;
        switch (dtype) {
            case F32 -> MemorySegment.copy(w, F32_LE, first * 4, dst, dstOff, count);
            case BF16 -> {
                for (; i < upper; i += L) bf16(w, (first + i) * 2).intoArray(dst, dstOff + i);
                for (; i < count; i++) dst[dstOff + i] = Float.intBitsToFloat((w.get(I16_LE, (first + i) * 2) & 0xffff) << 16);
            }
            case F16 -> {
                for (; i < upper; i += L) f16(w, (first + i) * 2).intoArray(dst, dstOff + i);
                for (; i < count; i++) dst[dstOff + i] = Float.float16ToFloat(w.get(I16_LE, (first + i) * 2));
            }
        }
    }
}
