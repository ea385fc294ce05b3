/* File-name helpers shared by every layer: the directory part of a path,
 * for fsyncing the directory a file was renamed into or resolving names
 * relative to a configuration file. Pure string work: nothing here touches
 * the file system. */
#ifndef LOFT_LIB_PATH_H
#define LOFT_LIB_PATH_H

/* The directory that holds path's last component, like dirname(3) but
 * without modifying its argument: "a/b/c" -> "a/b", "a/b/" -> "a", "/x" ->
 * "/", "x" -> ".". Returns a fresh heap string the caller frees. */
char *path_dir_of(const char *path);

#endif
