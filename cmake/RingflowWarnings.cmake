# ringflow_set_warnings(<target>): the project's warning set, PRIVATE to the
# target. Warnings are errors only with RINGFLOW_WARNINGS_AS_ERRORS (the ci
# preset), so a newer compiler never breaks a user's build.
function(ringflow_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wcast-align -Woverloaded-virtual -Wnull-dereference
    # g++ 12 warns on designated initialisers that omit members: noise.
    -Wno-missing-field-initializers
    $<$<BOOL:${RINGFLOW_WARNINGS_AS_ERRORS}>:-Werror>)
endfunction()
