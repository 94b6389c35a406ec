# cmake -DPROGRAM=fit_csv -DARGS="a|b|c" -P run_example.cmake
# Runs PROGRAM with ARGS ('|'-separated), fails unless it exits 0 and prints a fit.
string(REPLACE "|" ";" args "${ARGS}")
execute_process(COMMAND "${PROGRAM}" ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "${PROGRAM} printed:\n${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} exited with ${rc}")
endif()
if(NOT out MATCHES "weights: [0-9.e-]+ +[0-9.e-]+ +[0-9.e-]+\n" OR NOT out MATCHES "log-likelihood: -?[0-9]")
  message(FATAL_ERROR "${PROGRAM} did not print three weights and a log-likelihood")
endif()
