package dev.sahara.ablate;

/**
 * The two default ε, each written once. A command that scores heads ablates each candidate with {@link #CANDIDATE}
 * (ships, sweep, attribute: {@code --epsilon}; ships-asr: {@code --ships-epsilon}); a command that runs an ablated
 * model uses {@link #EVALUATION} (asr, generate, logits, surgery, course-correction, helpfulness: {@code --epsilon};
 * attribute: {@code --asr-epsilon}; ships-asr: {@code --epsilon}). The texts are for picocli's annotations, which take
 * only constants; the values are parsed from them.
 */
public final class Epsilon {
    /** ε of a candidate head while it is scored: the official attribution code's. */
    public static final String CANDIDATE_TEXT = "1e-5";
    public static final float CANDIDATE = Float.parseFloat(CANDIDATE_TEXT);
    /** ε of the ablated model in evaluation: the official code's surgery (SPEC.md). */
    public static final String EVALUATION_TEXT = "1e-10";
    public static final float EVALUATION = Float.parseFloat(EVALUATION_TEXT);

    private Epsilon() {}
}
