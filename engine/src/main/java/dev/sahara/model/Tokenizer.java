package dev.sahara.model;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sahara.SaharaException;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A model's Hugging Face tokenizer: tokenizer.json run by the Rust tokenizers library (through
 * DJL), plus what tokenizer_config.json and generation_config.json say about special tokens and
 * the chat template.
 *
 * <p>{@link #encode} gives the ids Hugging Face's fast tokenizer gives. Where tokenizer_config.json
 * sets {@code add_bos_token}/{@code add_eos_token} (LlamaTokenizerFast rebuilds its post-processor
 * from them), those decide which specials {@code encode(text, true)} adds; otherwise
 * tokenizer.json's own post-processor does. Truncation and padding are always off.
 * Loading never touches the network.
 */
public final class Tokenizer implements AutoCloseable {
    static final String TOKENIZER_JSON = "tokenizer.json";
    static final String TOKENIZER_CONFIG = "tokenizer_config.json";
    static final String GENERATION_CONFIG = "generation_config.json";

    static {
        // DJL reads these on first use: without them it probes cloud metadata addresses and,
        // on a machine with CUDA, tries to download a CUDA build of the native library.
        if (System.getProperty("ai.djl.offline") == null) System.setProperty("ai.djl.offline", "true");
        if (System.getProperty("RUST_FLAVOR") == null) System.setProperty("RUST_FLAVOR", "cpu");
    }

    private final Path dir;
    private final HuggingFaceTokenizer hf;
    private final int vocabSize;
    private final String bosToken;        // null when the model has none
    private final String eosToken;        // null when the model has none
    private final int bosId;              // -1 when none
    private final int eosTokenId;         // tokenizer_config's eos_token, -1 when none
    private final int[] eosIds;
    private final Boolean addBos;         // null: tokenizer.json's post-processor decides
    private final Boolean addEos;
    private final boolean cleanUpSpaces;  // tokenizer_config clean_up_tokenization_spaces
    private ChatTemplate chatTemplate; // null when none; replaced by useChatTemplate

    private Tokenizer(Path dir, HuggingFaceTokenizer hf, int vocabSize, String bosToken, String eosToken,
                      int bosId, int eosTokenId, int[] eosIds, Boolean addBos, Boolean addEos, boolean cleanUpSpaces,
                      ChatTemplate chatTemplate) {
        this.dir = dir;
        this.hf = hf;
        this.vocabSize = vocabSize;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.bosId = bosId;
        this.eosTokenId = eosTokenId;
        this.eosIds = eosIds;
        this.addBos = addBos;
        this.addEos = addEos;
        this.cleanUpSpaces = cleanUpSpaces;
        this.chatTemplate = chatTemplate;
    }

    /**
     * Loads the tokenizer of the model in {@code modelDir}: tokenizer.json (required),
     * tokenizer_config.json and generation_config.json (each optional).
     *
     * @throws SaharaException naming the file, for a missing tokenizer.json, a file that is not
     *                         valid JSON, a field of the wrong type, or a tokenizer.json the
     *                         tokenizers library rejects
     */
    public static Tokenizer load(Path modelDir) {
        Path tokFile = modelDir.resolve(TOKENIZER_JSON);
        Path cfgFile = modelDir.resolve(TOKENIZER_CONFIG);
        Path genFile = modelDir.resolve(GENERATION_CONFIG);

        byte[] tokBytes = readRequired(tokFile);
        JsonNode tok = parse(tokFile, tokBytes);
        if (!tok.isObject() || !tok.path("model").isObject()) {
            throw SaharaException.inFile(tokFile, "not a Hugging Face tokenizer.json (no \"model\" object)");
        }
        Map<String, Integer> specials = addedTokens(tokFile, tok);
        int vocabSize = vocabSize(tokFile, tok, specials);

        JsonNode cfg = readOptional(cfgFile);
        JsonNode gen = readOptional(genFile);

        String bosToken = cfg == null ? null : tokenString(cfgFile, cfg, "bos_token");
        String eosToken = cfg == null ? null : tokenString(cfgFile, cfg, "eos_token");
        Boolean addBos = cfg == null ? null : optBoolean(cfgFile, cfg, "add_bos_token");
        Boolean addEos = cfg == null ? null : optBoolean(cfgFile, cfg, "add_eos_token");
        Boolean cleanUp = cfg == null ? null : optBoolean(cfgFile, cfg, "clean_up_tokenization_spaces");
        ChatTemplate template = cfg == null ? null : chatTemplate(cfgFile, cfg);

        HuggingFaceTokenizer hf = newDjlTokenizer(tokFile, tokBytes);
        try {
            int bosId = bosToken == null ? -1 : tokenId(tok, specials, cfgFile, bosToken);
            int eosId = eosToken == null ? -1 : tokenId(tok, specials, cfgFile, eosToken);
            if (bosId < 0 && gen != null) {
                bosId = optInt(genFile, gen, "bos_token_id", -1);
                if (bosId >= vocabSize) {
                    throw SaharaException.inFile(genFile, "bos_token_id " + bosId + " is outside the vocabulary (0.." + (vocabSize - 1) + ")");
                }
            }

            Set<Integer> eos = new LinkedHashSet<>();
            if (gen != null) eos.addAll(intOrList(genFile, gen, "eos_token_id"));
            if (eosId >= 0) eos.add(eosId);
            for (int id : eos) {
                if (id < 0 || id >= vocabSize) {
                    throw SaharaException.inFile(genFile, "eos_token_id " + id + " is outside the vocabulary (0.." + (vocabSize - 1) + ")");
                }
            }

            if (addBos == null && addEos != null) addBos = Boolean.TRUE;   // LlamaTokenizerFast's defaults
            if (addEos == null && addBos != null) addEos = Boolean.FALSE;
            if (Boolean.TRUE.equals(addBos) && bosToken == null) {   // as LlamaTokenizerFast refuses it
                throw SaharaException.inFile(cfgFile, "add_bos_token is true but there is no bos_token");
            }
            if (Boolean.TRUE.equals(addEos) && eosId < 0) {
                throw SaharaException.inFile(cfgFile, "add_eos_token is true but there is no eos_token");
            }
            return new Tokenizer(modelDir, hf, vocabSize, bosToken, eosToken, bosId, eosId,
                    eos.stream().mapToInt(Integer::intValue).toArray(), addBos, addEos,
                    Boolean.TRUE.equals(cleanUp), template);
        } catch (RuntimeException e) {
            hf.close();
            throw e;
        }
    }

    /**
     * The ids Hugging Face gives for {@code tokenizer(text, add_special_tokens=...)["input_ids"]}.
     * Special tokens written literally in the text (e.g. "&lt;s&gt;") encode as those tokens.
     */
    public int[] encode(String text, boolean addSpecialTokens) {
        boolean override = addSpecialTokens && addBos != null;
        long[] ids = hf.encode(text, addSpecialTokens && !override, false).getIds();
        int extra = override ? (addBos ? 1 : 0) + (addEos ? 1 : 0) : 0;
        int[] out = new int[ids.length + extra];
        int k = 0;
        if (override && addBos) out[k++] = bosId;
        for (long id : ids) out[k++] = Math.toIntExact(id);
        if (override && addEos) out[k++] = eosTokenId;
        return out;
    }

    /**
     * The text of {@code ids}, as Hugging Face's {@code decode(ids, skip_special_tokens=...)}
     * (with clean_up_tokenization_spaces as tokenizer_config.json sets it, default off).
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        String text = rawDecode(ids, skipSpecialTokens);
        return cleanUpSpaces ? cleanUpTokenization(text) : text;
    }

    private String rawDecode(int[] ids, boolean skipSpecialTokens) {
        // Ids past the tokenizer's vocabulary (a model's padded embedding rows, e.g. Qwen2) decode to nothing, as in HF.
        long[] l = Arrays.stream(ids).filter(id -> id >= 0 && id < vocabSize).asLongStream().toArray();
        return hf.decode(l, skipSpecialTokens);
    }

    /** transformers' clean_up_tokenization. */
    static String cleanUpTokenization(String s) {
        return s.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
                .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m").replace(" 's", "'s")
                .replace(" 've", "'ve").replace(" 're", "'re");
    }

    /**
     * The id of tokenizer_config.json's bos_token; where that names none, generation_config.json's
     * bos_token_id; else -1.
     */
    public int bosId() { return bosId; }

    /**
     * Every id that ends generation: generation_config.json's eos_token_id (an int or a list)
     * and the tokenizer's eos_token, without repeats. Empty if neither is given.
     */
    public int[] eosIds() { return eosIds.clone(); }

    /**
     * The id of tokenizer_config.json's eos_token (Hugging Face's {@code tokenizer.eos_token_id}), or -1 if it names
     * none. Unlike {@link #eosIds()} it ignores generation_config.json.
     */
    public int eosTokenId() { return eosTokenId; }

    /**
     * tokenizer_config.json's bos_token (e.g. "&lt;s&gt;"), or null if it names none (Qwen2),
     * which is what chat templates get as {@code bos_token}.
     */
    public String bosToken() { return bosToken; }

    /** tokenizer_config.json's eos_token (e.g. "&lt;/s&gt;"), or null if it names none. */
    public String eosToken() { return eosToken; }

    /** tokenizer_config.json's chat_template (the "default" one when it lists several). */
    public Optional<String> chatTemplate() {
        return Optional.ofNullable(chatTemplate).map(ChatTemplate::source);
    }

    Optional<ChatTemplate> template() { return Optional.ofNullable(chatTemplate); }

    /**
     * Replaces the model's chat template with the Jinja text in {@code file} (for checkpoints that ship none, such
     * as Vicuna v1.5, or to try another form); rendered with the same Hugging Face semantics.
     */
    public void useChatTemplate(Path file) {
        try {
            useChatTemplate(Files.readString(file), file);
        } catch (IOException e) {
            throw SaharaException.inFile(file, "cannot read the chat template: " + e.getMessage());
        }
    }

    /** Renders the chat template (if any) with {@code strftime_now} reading {@code day}: reproducible prompts ({@code --date}). */
    public void useChatDate(LocalDate day) { if (chatTemplate != null) chatTemplate = chatTemplate.onDate(day); }

    /** Whether the chat template prints today's date (strftime_now). */
    public boolean chatTemplateUsesDate() { return chatTemplate != null && chatTemplate.usesDate(); }

    /** As above, from the template's text; {@code origin} names it in errors. */
    public void useChatTemplate(String jinja, Path origin) { chatTemplate = new ChatTemplate(jinja, origin); }

    /** Ids run from 0 to vocabSize() - 1: one more than the largest id in the vocabulary or the added tokens. */
    public int vocabSize() { return vocabSize; }

    /** The model directory this tokenizer was loaded from. */
    public Path directory() { return dir; }

    /** The tokenizer_config.json this tokenizer reads (which may not exist). */
    public Path configFile() { return dir.resolve(TOKENIZER_CONFIG); }

    /** A decoder for text streamed out during generation; see {@link IncrementalDecoder}. */
    public IncrementalDecoder newDecoder(boolean skipSpecialTokens) {
        return new IncrementalDecoder(this, skipSpecialTokens);
    }

    @Override
    public void close() { hf.close(); }

    /**
     * Turns generated ids into text as they come. Decoding token by token would lose the spaces
     * SentencePiece decoders strip at the start and split multi-byte characters spread over
     * byte-fallback tokens; so this decodes the whole growing sequence each time and returns
     * the new suffix, holding text back while it ends in U+FFFD (an incomplete UTF-8 sequence
     * that the next byte tokens may complete). Joining every {@link #append} result and
     * {@link #flush()} gives {@code decode(allIds, skip)} (without space clean-up). Each append
     * costs a decode of the whole sequence: fine for the few hundred tokens of a reply.
     */
    public static final class IncrementalDecoder {
        private final Tokenizer tok;
        private final boolean skipSpecialTokens;
        private int[] ids = new int[16];
        private int n;
        private String emitted = "";

        private IncrementalDecoder(Tokenizer tok, boolean skipSpecialTokens) {
            this.tok = tok;
            this.skipSpecialTokens = skipSpecialTokens;
        }

        /** Appends one token and returns the text it completes (often "", never null). */
        public String append(int id) {
            if (n == ids.length) ids = Arrays.copyOf(ids, n * 2);
            ids[n++] = id;
            String text = tok.rawDecode(Arrays.copyOf(ids, n), skipSpecialTokens);
            if (text.endsWith("\uFFFD")) return "";
            return emit(text);
        }

        /** Returns whatever is still held back (e.g. a trailing incomplete character as U+FFFD). */
        public String flush() {
            return emit(tok.rawDecode(Arrays.copyOf(ids, n), skipSpecialTokens));
        }

        /** Every id appended so far. */
        public int[] ids() { return Arrays.copyOf(ids, n); }

        private String emit(String text) {
            String out;
            if (text.startsWith(emitted)) {
                out = text.substring(emitted.length());
            } else {
                // A decoder changed text already emitted; it cannot be taken back, so emit
                // what follows the longest common prefix.
                int common = 0;
                int max = Math.min(text.length(), emitted.length());
                while (common < max && text.charAt(common) == emitted.charAt(common)) common++;
                out = text.substring(Math.max(common, Math.min(emitted.length(), text.length())));
            }
            emitted = text;
            return out;
        }
    }

    // ---- loading helpers ----

    private static byte[] readRequired(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw SaharaException.inFile(file, "not found (the model directory needs a Hugging Face tokenizer.json)");
        } catch (IOException e) {
            throw SaharaException.inFile(file, "cannot be read: " + e.getMessage());
        }
    }

    private static JsonNode readOptional(Path file) {
        if (!Files.exists(file)) return null;
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw SaharaException.inFile(file, "cannot be read: " + e.getMessage());
        }
        JsonNode node = parse(file, bytes);
        if (!node.isObject()) throw SaharaException.inFile(file, "should hold a JSON object");
        return node;
    }

    private static JsonNode parse(Path file, byte[] bytes) {
        try {
            JsonNode node = Json.MAPPER.readTree(bytes);
            if (node == null || node.isMissingNode()) throw SaharaException.inFile(file, "is empty");
            return node;
        } catch (JsonProcessingException e) {
            // Jackson's message carries a "(start marker at [Source: ...])" aside: keep the first part.
            String why = e.getOriginalMessage().replaceAll("(?s)\\s*\\(start marker at .*", "");
            throw SaharaException.inFile(file, "not valid JSON: " + oneLine(why)
                    + (e.getLocation() != null ? " (line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr() + ")" : ""));
        } catch (IOException e) {
            throw SaharaException.inFile(file, "cannot be read: " + e.getMessage());
        }
    }

    private static HuggingFaceTokenizer newDjlTokenizer(Path file, byte[] bytes) {
        Map<String, String> options = new HashMap<>();
        options.put("truncation", "false");
        options.put("padding", "false");
        options.put("addSpecialTokens", "true");
        try {
            // From a stream, with no TokenizerConfig: DJL then neither reads tokenizer_config.json
            // nor cleans up spaces on decode (this class does that as the config says).
            return HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(bytes), options);
        } catch (IOException | RuntimeException e) {
            throw SaharaException.inFile(file, "the tokenizers library cannot load it: " + oneLine(e));
        } catch (LinkageError e) {
            throw SaharaException.inFile(file, "the tokenizers native library failed to load (it needs glibc >= 2.34 on linux-x86_64): " + oneLine(e));
        }
    }

    private static String oneLine(Throwable e) {
        return oneLine(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
    }

    private static String oneLine(String m) {
        return m.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    /** added_tokens: content → id. */
    private static Map<String, Integer> addedTokens(Path file, JsonNode tok) {
        Map<String, Integer> out = new HashMap<>();
        JsonNode added = tok.path("added_tokens");
        if (added.isMissingNode() || added.isNull()) return out;
        if (!added.isArray()) throw SaharaException.inFile(file, "\"added_tokens\" should be a list");
        for (JsonNode t : added) {
            if (!t.path("content").isTextual() || !t.path("id").canConvertToInt()) {
                throw SaharaException.inFile(file, "an entry of \"added_tokens\" lacks a string \"content\" or an integer \"id\"");
            }
            out.put(t.get("content").asText(), t.get("id").asInt());
        }
        return out;
    }

    private static int vocabSize(Path file, JsonNode tok, Map<String, Integer> added) {
        JsonNode vocab = tok.path("model").path("vocab");
        int max = -1;
        if (vocab.isObject()) {
            for (JsonNode id : vocab) {
                if (!id.canConvertToInt()) throw SaharaException.inFile(file, "\"model.vocab\" maps a token to a non-integer id");
                max = Math.max(max, id.asInt());
            }
        } else if (vocab.isArray()) {           // Unigram: a list of [piece, score]
            max = vocab.size() - 1;
        } else {
            throw SaharaException.inFile(file, "\"model.vocab\" is missing or not a map/list");
        }
        for (int id : added.values()) max = Math.max(max, id);
        if (max < 0) throw SaharaException.inFile(file, "the vocabulary is empty");
        return max + 1;
    }

    /** A special token given as a string or as an AddedToken object {"content": ...}; null if absent or null. */
    private static String tokenString(Path file, JsonNode cfg, String key) {
        JsonNode v = cfg.get(key);
        if (v == null || v.isNull()) return null;
        if (v.isTextual()) return v.asText();
        if (v.isObject() && v.path("content").isTextual()) return v.get("content").asText();
        throw SaharaException.inFile(file, "\"" + key + "\" should be a string or an object with a string \"content\"");
    }

    private static int tokenId(JsonNode tok, Map<String, Integer> added, Path cfgFile, String token) {
        Integer id = added.get(token);
        if (id != null) return id;
        JsonNode v = tok.path("model").path("vocab").get(token);
        if (v != null && v.canConvertToInt()) return v.asInt();
        throw SaharaException.inFile(cfgFile, "names the special token \"" + token + "\", which "
                + TOKENIZER_JSON + " does not have");
    }

    private static Boolean optBoolean(Path file, JsonNode cfg, String key) {
        JsonNode v = cfg.get(key);
        if (v == null || v.isNull()) return null;
        if (!v.isBoolean()) throw SaharaException.inFile(file, "\"" + key + "\" should be true or false, not " + v);
        return v.asBoolean();
    }

    private static int optInt(Path file, JsonNode cfg, String key, int dflt) {
        JsonNode v = cfg.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw SaharaException.inFile(file, "\"" + key + "\" should be an integer, not " + v);
        return v.asInt();
    }

    private static Set<Integer> intOrList(Path file, JsonNode cfg, String key) {
        Set<Integer> out = new LinkedHashSet<>();
        JsonNode v = cfg.get(key);
        if (v == null || v.isNull()) return out;
        if (v.isIntegralNumber() && v.canConvertToInt()) {
            out.add(v.asInt());
        } else if (v.isArray()) {
            for (JsonNode e : v) {
                if (!e.isIntegralNumber() || !e.canConvertToInt()) {
                    throw SaharaException.inFile(file, "\"" + key + "\" should be an integer or a list of integers, not " + v);
                }
                out.add(e.asInt());
            }
        } else {
            throw SaharaException.inFile(file, "\"" + key + "\" should be an integer or a list of integers, not " + v);
        }
        return out;
    }

    /** chat_template: a string, or a list of {name, template} of which "default" is taken. */
    private static ChatTemplate chatTemplate(Path file, JsonNode cfg) {
        JsonNode v = cfg.get("chat_template");
        if (v == null || v.isNull()) return null;
        if (v.isTextual()) return new ChatTemplate(v.asText(), file);
        if (v.isArray()) {
            for (JsonNode t : v) {
                if (!t.path("name").isTextual() || !t.path("template").isTextual()) {
                    throw SaharaException.inFile(file, "each entry of the \"chat_template\" list needs a string \"name\" and \"template\"");
                }
                if (t.get("name").asText().equals("default")) return new ChatTemplate(t.get("template").asText(), file);
            }
            return null;
        }
        throw SaharaException.inFile(file, "\"chat_template\" should be a string or a list of {name, template}");
    }
}
