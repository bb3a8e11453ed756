package io.portiere.esnode;

import java.io.Reader;
import java.util.List;
import java.util.regex.Pattern;

import org.apache.lucene.analysis.charfilter.HTMLStripCharFilter;
import org.apache.lucene.analysis.charfilter.MappingCharFilter;
import org.apache.lucene.analysis.charfilter.NormalizeCharMap;
import org.apache.lucene.analysis.pattern.PatternReplaceCharFilter;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.index.IndexSettings;
import org.elasticsearch.index.analysis.AbstractCharFilterFactory;
import org.elasticsearch.index.analysis.Analysis;
import org.elasticsearch.index.analysis.CharFilterFactory;
import org.elasticsearch.index.analysis.NormalizingCharFilterFactory;

/** The char filters: mapping, pattern_replace, html_strip. */
final class CharFilters {
    private CharFilters() {}

    static CharFilterFactory mapping(IndexSettings is, Environment env, String name, Settings s) {
        List<String> rules = Analysis.getWordList(env, s, "mappings");
        if (rules == null) {
            throw new IllegalArgumentException("mapping requires either `mappings` or `mappings_path` to be configured");
        }
        NormalizeCharMap.Builder b = new NormalizeCharMap.Builder();
        for (String rule : rules) {
            String[] lr = Rules.split(rule);
            b.add(lr[0], lr[1]);
        }
        NormalizeCharMap map = b.build();
        return new Normalizing(name) {
            @Override
            public Reader create(Reader r) {
                return new MappingCharFilter(map, r);
            }
        };
    }

    static CharFilterFactory patternReplace(IndexSettings is, Environment env, String name, Settings s) {
        String pattern = s.get("pattern");
        if (pattern == null || pattern.isEmpty()) {
            throw new IllegalArgumentException("pattern is missing for [" + name + "] char filter of type 'pattern_replace'");
        }
        Pattern p = Pattern.compile(pattern);
        String replacement = s.get("replacement", "");
        return new Normalizing(name) {
            @Override
            public Reader create(Reader r) {
                return new PatternReplaceCharFilter(p, replacement, r);
            }
        };
    }

    static CharFilterFactory htmlStrip(IndexSettings is, Environment env, String name, Settings s) {
        return new AbstractCharFilterFactory(name) {
            @Override
            public Reader create(Reader r) {
                return new HTMLStripCharFilter(r);
            }
        };
    }

    private abstract static class Normalizing extends AbstractCharFilterFactory implements NormalizingCharFilterFactory {
        Normalizing(String name) {
            super(name);
        }
    }
}
