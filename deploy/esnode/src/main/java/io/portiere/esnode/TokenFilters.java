package io.portiere.esnode;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.core.UpperCaseFilter;
import org.apache.lucene.analysis.en.EnglishMinimalStemFilter;
import org.apache.lucene.analysis.en.EnglishPossessiveFilter;
import org.apache.lucene.analysis.en.KStemFilter;
import org.apache.lucene.analysis.en.PorterStemFilter;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.apache.lucene.analysis.miscellaneous.LengthFilter;
import org.apache.lucene.analysis.miscellaneous.TrimFilter;
import org.apache.lucene.analysis.miscellaneous.WordDelimiterGraphFilter;
import org.apache.lucene.analysis.miscellaneous.WordDelimiterIterator;
import org.apache.lucene.analysis.ngram.EdgeNGramTokenFilter;
import org.apache.lucene.analysis.ngram.NGramTokenFilter;
import org.apache.lucene.analysis.pattern.PatternReplaceFilter;
import org.apache.lucene.analysis.snowball.SnowballFilter;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.index.IndexSettings;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.Analysis;
import org.elasticsearch.index.analysis.NormalizingTokenFilterFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.tartarus.snowball.ext.EnglishStemmer;

/**
 * The token filters, with analysis-common's setting names and defaults.
 * Only the English stemmers are provided: the vocabulary is English.
 */
final class TokenFilters {
    private TokenFilters() {}

    static TokenFilterFactory lowercase(IndexSettings is, Environment env, String name, Settings s) {
        if (s.get("language") != null) {
            throw new IllegalArgumentException("lowercase: language [" + s.get("language") + "] is not provided by portiere-esnode");
        }
        return normalizing(name, s, LowerCaseFilter::new);
    }

    static TokenFilterFactory uppercase(IndexSettings is, Environment env, String name, Settings s) {
        return normalizing(name, s, UpperCaseFilter::new);
    }

    static TokenFilterFactory asciiFolding(IndexSettings is, Environment env, String name, Settings s) {
        boolean preserve = s.getAsBoolean("preserve_original", false);
        return normalizing(name, s, ts -> new ASCIIFoldingFilter(ts, preserve));
    }

    static TokenFilterFactory trim(IndexSettings is, Environment env, String name, Settings s) {
        return normalizing(name, s, TrimFilter::new);
    }

    static TokenFilterFactory length(IndexSettings is, Environment env, String name, Settings s) {
        int min = s.getAsInt("min", 0);
        int max = s.getAsInt("max", Integer.MAX_VALUE);
        return plain(name, s, ts -> new LengthFilter(ts, min, max));
    }

    static TokenFilterFactory porterStem(IndexSettings is, Environment env, String name, Settings s) {
        return plain(name, s, PorterStemFilter::new);
    }

    static TokenFilterFactory kStem(IndexSettings is, Environment env, String name, Settings s) {
        return plain(name, s, KStemFilter::new);
    }

    /** stemmer: analysis-common's English entries ("english" is Porter). */
    static TokenFilterFactory stemmer(IndexSettings is, Environment env, String name, Settings s) {
        String lang = s.get("language", s.get("name", "english"));
        UnaryOperator<TokenStream> f = switch (lang) {
            case "english", "porter" -> PorterStemFilter::new;
            case "porter2" -> ts -> new SnowballFilter(ts, new EnglishStemmer());
            case "light_english", "kstem" -> KStemFilter::new;
            case "minimal_english" -> EnglishMinimalStemFilter::new;
            case "possessive_english" -> EnglishPossessiveFilter::new;
            default -> throw new IllegalArgumentException("stemmer: language [" + lang + "] is not provided by portiere-esnode");
        };
        return plain(name, s, f);
    }

    static TokenFilterFactory nGram(IndexSettings is, Environment env, String name, Settings s) {
        int min = s.getAsInt("min_gram", 1);
        int max = s.getAsInt("max_gram", 2);
        int maxDiff = is == null ? 1 : is.getMaxNgramDiff();
        if (max - min > maxDiff) {
            throw new IllegalArgumentException("The difference between max_gram and min_gram in NGram Tokenizer must be less than or equal to: ["
                + maxDiff + "] but was [" + (max - min) + "]. This limit can be set by changing the [index.max_ngram_diff] index level setting.");
        }
        boolean preserve = s.getAsBoolean("preserve_original", false);
        return plain(name, s, ts -> new NGramTokenFilter(ts, min, max, preserve));
    }

    static TokenFilterFactory edgeNGram(IndexSettings is, Environment env, String name, Settings s) {
        int min = s.getAsInt("min_gram", 1);
        int max = s.getAsInt("max_gram", 2);
        boolean preserve = s.getAsBoolean("preserve_original", false);
        if (!"front".equals(s.get("side", "front"))) {
            throw new IllegalArgumentException("edge_ngram: only side=front is provided by portiere-esnode");
        }
        return plain(name, s, ts -> new EdgeNGramTokenFilter(ts, min, max, preserve));
    }

    static TokenFilterFactory patternReplace(IndexSettings is, Environment env, String name, Settings s) {
        String pattern = s.get("pattern");
        if (pattern == null) {
            throw new IllegalArgumentException("pattern is missing for [" + name + "] token filter of type 'pattern_replace'");
        }
        Pattern p = Pattern.compile(pattern);
        String replacement = s.get("replacement", "");
        boolean all = s.getAsBoolean("all", true);
        return normalizing(name, s, ts -> new PatternReplaceFilter(ts, p, replacement, all));
    }

    static TokenFilterFactory wordDelimiterGraph(IndexSettings is, Environment env, String name, Settings s) {
        List<String> table = Analysis.getWordList(env, s, "type_table");
        byte[] types = table == null ? WordDelimiterIterator.DEFAULT_WORD_DELIM_TABLE : parseTypes(table);
        int flags = 0;
        flags |= flag(s, "generate_word_parts", true, WordDelimiterGraphFilter.GENERATE_WORD_PARTS);
        flags |= flag(s, "generate_number_parts", true, WordDelimiterGraphFilter.GENERATE_NUMBER_PARTS);
        flags |= flag(s, "catenate_words", false, WordDelimiterGraphFilter.CATENATE_WORDS);
        flags |= flag(s, "catenate_numbers", false, WordDelimiterGraphFilter.CATENATE_NUMBERS);
        flags |= flag(s, "catenate_all", false, WordDelimiterGraphFilter.CATENATE_ALL);
        flags |= flag(s, "split_on_case_change", true, WordDelimiterGraphFilter.SPLIT_ON_CASE_CHANGE);
        flags |= flag(s, "preserve_original", false, WordDelimiterGraphFilter.PRESERVE_ORIGINAL);
        flags |= flag(s, "split_on_numerics", true, WordDelimiterGraphFilter.SPLIT_ON_NUMERICS);
        flags |= flag(s, "stem_english_possessive", true, WordDelimiterGraphFilter.STEM_ENGLISH_POSSESSIVE);
        flags |= flag(s, "ignore_keywords", false, WordDelimiterGraphFilter.IGNORE_KEYWORDS);
        List<String> protWords = Analysis.getWordList(env, s, "protected_words");
        CharArraySet prot = protWords == null ? null : new CharArraySet(protWords, false);
        boolean adjust = s.getAsBoolean("adjust_offsets", true);
        int f = flags;
        return new AbstractTokenFilterFactory(name, s) {
            @Override
            public TokenStream create(TokenStream ts) {
                return new WordDelimiterGraphFilter(ts, adjust, types, f, prot);
            }

            @Override
            public TokenFilterFactory getSynonymFilter() {
                throw new IllegalArgumentException("Token filter [" + name() + "] cannot be used to parse synonyms");
            }
        };
    }

    // The character classes of WordDelimiterIterator (package-private there).
    private static final Map<String, Byte> TYPES = Map.of(
        "LOWER", (byte) 0x01, "UPPER", (byte) 0x02, "ALPHA", (byte) 0x03,
        "DIGIT", (byte) 0x04, "ALPHANUM", (byte) 0x07, "SUBWORD_DELIM", (byte) 0x08);

    static byte[] parseTypes(List<String> rules) {
        TreeMap<Character, Byte> m = new TreeMap<>();
        for (String rule : rules) {
            String[] lr = Rules.split(rule);
            Byte t = TYPES.get(lr[1]);
            if (lr[0].length() != 1 || t == null) {
                throw new IllegalArgumentException("Invalid Mapping Rule : [" + rule + "]");
            }
            m.put(lr[0].charAt(0), t);
        }
        byte[] types = new byte[Math.max(m.lastKey() + 1, WordDelimiterIterator.DEFAULT_WORD_DELIM_TABLE.length)];
        for (int i = 0; i < types.length; i++) {
            types[i] = WordDelimiterIterator.getType(i);
        }
        m.forEach((c, t) -> types[c] = t);
        return types;
    }

    private static int flag(Settings s, String key, boolean def, int flag) {
        return s.getAsBoolean(key, def) ? flag : 0;
    }

    private static TokenFilterFactory plain(String name, Settings s, UnaryOperator<TokenStream> f) {
        return new AbstractTokenFilterFactory(name, s) {
            @Override
            public TokenStream create(TokenStream ts) {
                return f.apply(ts);
            }
        };
    }

    private static TokenFilterFactory normalizing(String name, Settings s, UnaryOperator<TokenStream> f) {
        return new Normalizing(name, s, f);
    }

    private static final class Normalizing extends AbstractTokenFilterFactory implements NormalizingTokenFilterFactory {
        private final UnaryOperator<TokenStream> f;

        Normalizing(String name, Settings s, UnaryOperator<TokenStream> f) {
            super(name, s);
            this.f = f;
        }

        @Override
        public TokenStream create(TokenStream ts) {
            return f.apply(ts);
        }
    }
}
