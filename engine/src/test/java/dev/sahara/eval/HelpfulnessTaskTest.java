package dev.sahara.eval;

import dev.sahara.SaharaException;
import dev.sahara.model.Json;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The converters give lm-evaluation-harness's prompts for each dataset's HF JSONL row. */
class HelpfulnessTaskTest {
    static HelpfulnessTask.Item row(String format, String json) throws Exception {
        return HelpfulnessTask.convert(format, Json.MAPPER.readTree(json), "0");
    }

    @Test
    void converters() throws Exception {
        var b = row("boolq", "{\"question\":\"is it wet\",\"passage\":\"Rain.\",\"idx\":3,\"label\":1}");
        assertEquals("Rain.\nQuestion: is it wet?\nAnswer:", b.contexts().get(0));
        assertEquals(List.of(" no", " yes"), b.continuations());
        assertEquals(1, b.gold());
        assertEquals("3", b.id());
        assertEquals(0, row("boolq", "{\"question\":\"q\",\"passage\":\"p\",\"answer\":false}").gold());

        var r = row("rte", "{\"premise\":\"A dog runs.\",\"hypothesis\":\"An animal moves.\",\"label\":0}");
        assertEquals("A dog runs.\nQuestion: An animal moves. True or False?\nAnswer:", r.contexts().get(1));
        assertEquals(List.of(" True", " False"), r.continuations());

        var w = row("winogrande", "{\"sentence\":\"The cup broke because _ was fragile.\",\"option1\":\"the cup\",\"option2\":\"the table\",\"answer\":\"1\"}");
        assertEquals(List.of("The cup broke because the cup", "The cup broke because the table"), w.contexts());
        assertEquals(List.of(" was fragile.", " was fragile."), w.continuations());
        assertEquals(0, w.gold());

        var a = row("arc", "{\"id\":\"x\",\"question\":\"Which is a gas?\",\"choices\":{\"text\":[\"ice\",\"steam\"],\"label\":[\"A\",\"B\"]},\"answerKey\":\"B\"}");
        assertEquals("Question: Which is a gas?\nAnswer:", a.contexts().get(0));
        assertEquals(List.of(" ice", " steam"), a.continuations());
        assertEquals(1, a.gold());

        var o = row("openbookqa", "{\"id\":\"y\",\"question_stem\":\"The sun is\",\"choices\":{\"text\":[\"a star\",\"a moon\"],\"label\":[\"A\",\"B\"]},\"answerKey\":\"A\"}");
        assertEquals("The sun is", o.contexts().get(0));
        assertEquals(0, o.gold());

        assertThrows(IllegalArgumentException.class, () -> row("jsonl", "{\"context\":\"c\",\"choices\":[\" a\",\" b\"],\"gold\":2}"));
    }

    @Test
    void builtinSyntheticLoads() {
        HelpfulnessTask t = HelpfulnessTask.load("builtin:synthetic", "jsonl", 0);
        assertEquals(10, t.items().size());
        assertEquals(2, t.items().get(8).contexts().stream().distinct().count());
        assertEquals(4, HelpfulnessTask.load("builtin:synthetic", "jsonl", 4).items().size());
        assertThrows(SaharaException.class, () -> HelpfulnessTask.load("builtin:synthetic", "mmlu", 0));
    }
}
