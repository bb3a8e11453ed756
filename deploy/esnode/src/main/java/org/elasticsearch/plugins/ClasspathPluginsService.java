package org.elasticsearch.plugins;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.elasticsearch.Build;
import org.elasticsearch.common.settings.Settings;

/**
 * A plugins service that instantiates plugin classes already on the class
 * path instead of scanning a {@code modules/} folder, the way Elasticsearch's
 * own test framework runs a node. It lives in this package because the
 * constructor of a loaded plugin and the extension loader are package-private.
 */
public final class ClasspathPluginsService extends PluginsService {
    private final List<LoadedPlugin> loaded;

    public ClasspathPluginsService(Settings settings, Path configDir, List<Class<? extends Plugin>> classes) {
        super(settings, configDir, new PluginsLoader(Collections.emptySet(), Collections.emptySet(), Collections.emptyMap()));
        List<LoadedPlugin> out = new ArrayList<>();
        for (Class<? extends Plugin> c : classes) {
            Plugin p = loadPlugin(c, settings, configDir);
            PluginDescriptor d = new PluginDescriptor(
                c.getName(), "classpath plugin", "NA", Build.current().version(),
                Integer.toString(Runtime.version().feature()), c.getName(), null,
                Collections.emptyList(), false, false, false, false);
            out.add(new LoadedPlugin(d, p, c.getClassLoader()));
        }
        loadExtensions(out);
        this.loaded = List.copyOf(out);
    }

    @Override
    protected List<LoadedPlugin> plugins() {
        return loaded;
    }
}
