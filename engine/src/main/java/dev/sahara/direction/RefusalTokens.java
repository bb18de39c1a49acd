package dev.sahara.direction;

import dev.sahara.SaharaException;
import dev.sahara.model.Tokenizer;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The tokens whose probability at the last prompt position measures refusal (Arditi et al. §2.4: the first token of
 * the model family's refusals, 'I' for Llama, 'I' and 'As' for Qwen and Gemma). By default the first token of each of
 * {@link #DEFAULT_WORDS} as this model's tokenizer encodes it at the start of a response (no special tokens: Llama-2's
 * SentencePiece gives ▁I, Llama-3's BPE gives I). A word whose first token does not decode to a prefix of the word (an
 * unknown word becomes [UNK]) is left out and recorded in {@code skipped}.
 *
 * @param ids     the token ids, in the order given, without repeats
 * @param strings each id decoded
 * @param skipped words left out, each with why
 */
public record RefusalTokens(List<Integer> ids, List<String> strings, List<String> skipped) {
    public static final List<String> DEFAULT_WORDS = List.of("I", "As");

    public RefusalTokens {
        if (ids.isEmpty()) throw new SaharaException("--refusal-tokens: no refusal token left (skipped: " + String.join("; ", skipped) + ")");
    }

    /**
     * {@code --refusal-tokens} (null: the defaults): comma-separated words, each contributing its first token, or token
     * ids (an item of digits only).
     */
    public static RefusalTokens of(String option, Tokenizer tok) {
        List<String> items = option == null ? DEFAULT_WORDS : List.of(option.split(",", -1));
        Set<Integer> ids = new LinkedHashSet<>();
        List<String> skipped = new ArrayList<>();
        for (String raw : items) {
            String item = raw.strip();
            if (item.isEmpty()) throw new SaharaException("--refusal-tokens: an empty item in '" + option + "'");
            if (item.chars().allMatch(Character::isDigit)) {
                int id = Integer.parseInt(item);
                if (id >= tok.vocabSize()) throw new SaharaException("--refusal-tokens: id " + id + " is not below the vocabulary size " + tok.vocabSize());
                ids.add(id);
                continue;
            }
            int[] enc = tok.encode(item, false);
            String first = enc.length == 0 ? "" : tok.decode(new int[] {enc[0]}, true).strip();
            if (first.isEmpty() || !item.startsWith(first)) skipped.add(item + ": its first token decodes to '" + first + "'");
            else ids.add(enc[0]);
        }
        List<Integer> idList = List.copyOf(ids);
        return new RefusalTokens(idList, idList.stream().map(id -> tok.decode(new int[] {id}, false)).toList(), List.copyOf(skipped));
    }

    /**
     * The refusal score of one next-token distribution: log p − log(1 − p), p = Σ softmax(logits)[ids], both terms as
     * log-sum-exps in double (so neither p nor 1 − p is rounded to 0 or 1 first, where Arditi adds 1e-8).
     */
    public double score(float[] logits) {
        boolean[] refusal = new boolean[logits.length];
        for (int id : ids) refusal[id] = true;
        return logSumExp(logits, refusal, true) - logSumExp(logits, refusal, false);
    }

    /** log Σ exp(logits[i]) over the i with refusal[i] == which, from that group's own maximum. */
    private static double logSumExp(float[] logits, boolean[] refusal, boolean which) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int i = 0; i < logits.length; i++) if (refusal[i] == which) max = Math.max(max, logits[i]);
        for (int i = 0; i < logits.length; i++) if (refusal[i] == which) sum += Math.exp(logits[i] - max);
        return max + Math.log(sum);
    }
}
