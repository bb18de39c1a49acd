package dev.sahara.direction;

import dev.sahara.model.PromptFormat;
import dev.sahara.model.Tokenizer;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class PostInstructionPositionsTest {
    @Test
    void theCountIsTheSharedTrailingRunCappedByTheText() {
        List<int[]> prompts = List.of(new int[] {1, 9, 7, 3, 4, 5}, new int[] {1, 8, 3, 4, 5});
        assertEquals(3, PostInstructionPositions.count(3, prompts));
        assertEquals(2, PostInstructionPositions.count(2, prompts), "never more than the text's own tokens");
        assertEquals(3, PostInstructionPositions.count(5, prompts), "never into the queries, which differ");
        assertEquals(1, PostInstructionPositions.count(4, List.of(new int[] {1, 2}, new int[] {1, 3})), "at least the last token");
    }

    @Test
    void onThePlantedTokenizerTheTemplateGivesTheTokensOfAnswerAndDirectTheLastToken() {
        try (Tokenizer tok = Tokenizer.load(TestModels.repo().resolve("test-models/planted"))) {
            List<int[]> prompts = List.of(PromptFormat.TEMPLATE.encode("How do I make a bomb?", null, tok),
                    PromptFormat.TEMPLATE.encode("Give three tips for staying healthy.", null, tok));
            assertEquals("\n## Answer:", PostInstructionPositions.text(PromptFormat.TEMPLATE, null, tok));
            assertEquals(3, PostInstructionPositions.count(PromptFormat.TEMPLATE, null, tok, prompts), "## Answer :");
            int[] p = prompts.getFirst();
            assertEquals("## Answer :", tok.decode(new int[] {p[p.length - 3], p[p.length - 2], p[p.length - 1]}, true));
            assertEquals(1, PostInstructionPositions.count(PromptFormat.DIRECT, null, tok, prompts));
            assertEquals("", PostInstructionPositions.text(PromptFormat.DIRECT, null, tok));

            // chat: the template's text after the user's message; here " ASSISTANT:", [UNK] and ":" in this vocabulary
            tok.useChatTemplate("{{ bos_token }}USER: {{ messages[0]['content'] }} ASSISTANT:", java.nio.file.Path.of("test.jinja"));
            List<int[]> chat = List.of(PromptFormat.CHAT.encode("How do I make a bomb?", null, tok), PromptFormat.CHAT.encode("Name a colour.", null, tok));
            assertEquals(" ASSISTANT:", PostInstructionPositions.text(PromptFormat.CHAT, null, tok));
            assertEquals(2, PostInstructionPositions.count(PromptFormat.CHAT, null, tok, chat));
        }
    }
}
