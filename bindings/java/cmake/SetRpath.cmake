# cmake -DFILE=lib.so -P SetRpath.cmake: replaces the build tree's RUNPATH of
# a copied JNI library with the installed one, $ORIGIN (written here, not on
# a command line, where a shell would expand it).
file(RPATH_SET FILE "${FILE}" NEW_RPATH [[$ORIGIN]])
