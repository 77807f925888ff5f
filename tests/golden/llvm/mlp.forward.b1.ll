; netc dump mlp.yaml --stage llvm --batch 1, target x86_64-unknown-linux-gnu vector=256 threads=2
; ===== k1_fc1 (netc_k_84f1baf9096a8abeaf19)
; ModuleID = "k1_fc1"
target triple = "x86_64-unknown-linux-gnu"
target datalayout = ""

define internal void @"k1_fc1.body"(i8* %"services", i8* noalias %"relu1|fc1", i8* noalias %"image", i8* noalias %"fc1.weight", i8* noalias %"fc1.bias", i8* noalias %"workspace", i64 %"task", i64 %"thread")
{
entry:
  %"acc0" = alloca <8 x float>
  %"acc1" = alloca <8 x float>
  %"acc2" = alloca <8 x float>
  %"acc3" = alloca <8 x float>
  %"tail" = alloca float
  br label %"start"
start:
  %"relu1" = bitcast i8* %"relu1|fc1" to float*
  %"fc1" = bitcast i8* %"relu1|fc1" to float*
  %"image.1" = bitcast i8* %"image" to float*
  %"fc1.weight.1" = bitcast i8* %"fc1.weight" to float*
  %"fc1.bias.1" = bitcast i8* %"fc1.bias" to float*
  %".11" = mul i64 %"thread", 1171840
  %".12" = getelementptr i8, i8* %"workspace", i64 %".11"
  %"image.2" = sdiv i64 %"task", 4
  %"chunk" = srem i64 %"task", 4
  %".13" = mul i64 %"chunk", 32
  %".14" = sdiv i64 %".13", 4
  %".15" = mul i64 %".14", 16
  %".16" = add i64 %"chunk", 1
  %".17" = mul i64 %".16", 32
  %".18" = sdiv i64 %".17", 4
  %".19" = mul i64 %".18", 16
  %".20" = icmp slt i64 %".19", 512
  %".21" = select  i1 %".20", i64 %".19", i64 512
  br label %"j.loop"
j.loop:
  %"j" = phi  i64 [%".15", %"start"], [%"j.next", %"i.done"]
  %".23" = icmp slt i64 %"j", %".21"
  br i1 %".23", label %"j.body", label %"j.done"
j.body:
  br label %"i.loop"
j.done:
  br label %"e0.loop"
i.loop:
  %"i" = phi  i64 [0, %"j.body"], [%"i.next", %"kt.done"]
  %".26" = icmp slt i64 %"i", 1
  br i1 %".26", label %"i.body", label %"i.done"
i.body:
  %".28" = mul i64 %"i", 784
  %".29" = getelementptr float, float* %"image.1", i64 %".28"
  %".30" = mul i64 %"j", 784
  %".31" = getelementptr float, float* %"fc1.weight.1", i64 %".30"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc0"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc1"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc2"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc3"
  br label %"k.loop"
i.done:
  %"j.next" = add i64 %"j", 1
  br label %"j.loop"
k.loop:
  %"k" = phi  i64 [0, %"i.body"], [%"k.next", %"k.body"]
  %".37" = icmp slt i64 %"k", 768
  br i1 %".37", label %"k.body", label %"k.done"
k.body:
  %".39" = getelementptr float, float* %".29", i64 %"k"
  %".40" = bitcast float* %".39" to <8 x float>*
  %".41" = load <8 x float>, <8 x float>* %".40", align 4
  %".42" = getelementptr float, float* %".31", i64 %"k"
  %".43" = bitcast float* %".42" to <8 x float>*
  %".44" = load <8 x float>, <8 x float>* %".43", align 4
  %".45" = load <8 x float>, <8 x float>* %"acc0"
  %".46" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".41", <8 x float> %".44", <8 x float> %".45")
  store <8 x float> %".46", <8 x float>* %"acc0"
  %".48" = add i64 %"k", 8
  %".49" = getelementptr float, float* %".29", i64 %".48"
  %".50" = bitcast float* %".49" to <8 x float>*
  %".51" = load <8 x float>, <8 x float>* %".50", align 4
  %".52" = getelementptr float, float* %".31", i64 %".48"
  %".53" = bitcast float* %".52" to <8 x float>*
  %".54" = load <8 x float>, <8 x float>* %".53", align 4
  %".55" = load <8 x float>, <8 x float>* %"acc1"
  %".56" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".51", <8 x float> %".54", <8 x float> %".55")
  store <8 x float> %".56", <8 x float>* %"acc1"
  %".58" = add i64 %"k", 16
  %".59" = getelementptr float, float* %".29", i64 %".58"
  %".60" = bitcast float* %".59" to <8 x float>*
  %".61" = load <8 x float>, <8 x float>* %".60", align 4
  %".62" = getelementptr float, float* %".31", i64 %".58"
  %".63" = bitcast float* %".62" to <8 x float>*
  %".64" = load <8 x float>, <8 x float>* %".63", align 4
  %".65" = load <8 x float>, <8 x float>* %"acc2"
  %".66" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".61", <8 x float> %".64", <8 x float> %".65")
  store <8 x float> %".66", <8 x float>* %"acc2"
  %".68" = add i64 %"k", 24
  %".69" = getelementptr float, float* %".29", i64 %".68"
  %".70" = bitcast float* %".69" to <8 x float>*
  %".71" = load <8 x float>, <8 x float>* %".70", align 4
  %".72" = getelementptr float, float* %".31", i64 %".68"
  %".73" = bitcast float* %".72" to <8 x float>*
  %".74" = load <8 x float>, <8 x float>* %".73", align 4
  %".75" = load <8 x float>, <8 x float>* %"acc3"
  %".76" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".71", <8 x float> %".74", <8 x float> %".75")
  store <8 x float> %".76", <8 x float>* %"acc3"
  %"k.next" = add i64 %"k", 32
  br label %"k.loop"
k.done:
  store float              0x0, float* %"tail"
  br label %"kt.loop"
kt.loop:
  %"kt" = phi  i64 [768, %"k.done"], [%"kt.next", %"kt.body"]
  %".81" = icmp slt i64 %"kt", 784
  br i1 %".81", label %"kt.body", label %"kt.done"
kt.body:
  %".83" = getelementptr float, float* %".29", i64 %"kt"
  %".84" = load float, float* %".83"
  %".85" = getelementptr float, float* %".31", i64 %"kt"
  %".86" = load float, float* %".85"
  %".87" = load float, float* %"tail"
  %".88" = call float @"llvm.fma.f32"(float %".84", float %".86", float %".87")
  store float %".88", float* %"tail"
  %"kt.next" = add i64 %"kt", 1
  br label %"kt.loop"
kt.done:
  %".91" = load <8 x float>, <8 x float>* %"acc0"
  %".92" = load <8 x float>, <8 x float>* %"acc1"
  %".93" = fadd <8 x float> %".91", %".92"
  %".94" = load <8 x float>, <8 x float>* %"acc2"
  %".95" = fadd <8 x float> %".93", %".94"
  %".96" = load <8 x float>, <8 x float>* %"acc3"
  %".97" = fadd <8 x float> %".95", %".96"
  %".98" = load float, float* %"tail"
  %".99" = extractelement <8 x float> %".97", i64 0
  %".100" = fadd float %".98", %".99"
  %".101" = extractelement <8 x float> %".97", i64 1
  %".102" = fadd float %".100", %".101"
  %".103" = extractelement <8 x float> %".97", i64 2
  %".104" = fadd float %".102", %".103"
  %".105" = extractelement <8 x float> %".97", i64 3
  %".106" = fadd float %".104", %".105"
  %".107" = extractelement <8 x float> %".97", i64 4
  %".108" = fadd float %".106", %".107"
  %".109" = extractelement <8 x float> %".97", i64 5
  %".110" = fadd float %".108", %".109"
  %".111" = extractelement <8 x float> %".97", i64 6
  %".112" = fadd float %".110", %".111"
  %".113" = extractelement <8 x float> %".97", i64 7
  %".114" = fadd float %".112", %".113"
  %".115" = getelementptr float, float* %"fc1.bias.1", i64 %"j"
  %".116" = load float, float* %".115"
  %".117" = fadd float %".114", %".116"
  %".118" = mul i64 %"i", 512
  %".119" = add i64 %".118", %"j"
  %".120" = getelementptr float, float* %"fc1", i64 %".119"
  store float %".117", float* %".120"
  %"i.next" = add i64 %"i", 1
  br label %"i.loop"
e0.loop:
  %"e0" = phi  i64 [0, %"j.done"], [%"e0.next", %"e1.done"]
  %".125" = icmp slt i64 %"e0", 1
  br i1 %".125", label %"e0.body", label %"e0.done"
e0.body:
  br label %"e1.loop"
e0.done:
  ret void
e1.loop:
  %"e1" = phi  i64 [%".15", %"e0.body"], [%"e1.next", %"e1.body"]
  %".128" = icmp slt i64 %"e1", %".21"
  br i1 %".128", label %"e1.body", label %"e1.done"
e1.body:
  %".130" = mul i64 %"e0", 512
  %".131" = add i64 %".130", %"e1"
  %".132" = getelementptr float, float* %"fc1", i64 %".131"
  %"fc1.1" = load float, float* %".132"
  %".133" = fcmp olt float %"fc1.1",              0x0
  %".134" = select  i1 %".133", float              0x0, float %"fc1.1"
  %".135" = getelementptr float, float* %"relu1", i64 %".131"
  store float %".134", float* %".135"
  %"e1.next" = add i64 %"e1", 1
  br label %"e1.loop"
e1.done:
  %"e0.next" = add i64 %"e0", 1
  br label %"e0.loop"
}

declare <8 x float> @"llvm.fma.v8f32"(<8 x float> %".1", <8 x float> %".2", <8 x float> %".3")

declare float @"llvm.fma.f32"(float %".1", float %".2", float %".3")

define void @"netc_k_84f1baf9096a8abeaf19"(i8* %".1", i64 %".2", i64 %".3")
{
entry:
  br label %"start"
start:
  %"table" = bitcast i8* %".1" to i8**
  %".6" = getelementptr i8*, i8** %"table", i64 0
  %".7" = load i8*, i8** %".6"
  %".8" = getelementptr i8*, i8** %"table", i64 1
  %".9" = load i8*, i8** %".8"
  %".10" = getelementptr i8*, i8** %"table", i64 2
  %".11" = load i8*, i8** %".10"
  %".12" = getelementptr i8*, i8** %"table", i64 3
  %".13" = load i8*, i8** %".12"
  %".14" = getelementptr i8*, i8** %"table", i64 4
  %".15" = load i8*, i8** %".14"
  %".16" = getelementptr i8*, i8** %"table", i64 5
  %".17" = load i8*, i8** %".16"
  call void @"k1_fc1.body"(i8* %".7", i8* %".9", i8* %".11", i8* %".13", i8* %".15", i8* %".17", i64 %".2", i64 %".3")
  ret void
}
; ===== k2_fc2 (netc_k_efbc201f3307a8b1db00)
; ModuleID = "k2_fc2"
target triple = "x86_64-unknown-linux-gnu"
target datalayout = ""

define internal void @"k2_fc2.body"(i8* %"services", i8* noalias %"relu2|fc2", i8* noalias %"relu1", i8* noalias %"fc2.weight", i8* noalias %"fc2.bias", i8* noalias %"workspace", i64 %"task", i64 %"thread")
{
entry:
  %"acc0" = alloca <8 x float>
  %"acc1" = alloca <8 x float>
  %"acc2" = alloca <8 x float>
  %"acc3" = alloca <8 x float>
  %"tail" = alloca float
  br label %"start"
start:
  %"relu2" = bitcast i8* %"relu2|fc2" to float*
  %"fc2" = bitcast i8* %"relu2|fc2" to float*
  %"relu1.1" = bitcast i8* %"relu1" to float*
  %"fc2.weight.1" = bitcast i8* %"fc2.weight" to float*
  %"fc2.bias.1" = bitcast i8* %"fc2.bias" to float*
  %".11" = mul i64 %"thread", 1171840
  %".12" = getelementptr i8, i8* %"workspace", i64 %".11"
  %"image" = sdiv i64 %"task", 4
  %"chunk" = srem i64 %"task", 4
  %".13" = mul i64 %"chunk", 32
  %".14" = sdiv i64 %".13", 4
  %".15" = mul i64 %".14", 16
  %".16" = add i64 %"chunk", 1
  %".17" = mul i64 %".16", 32
  %".18" = sdiv i64 %".17", 4
  %".19" = mul i64 %".18", 16
  %".20" = icmp slt i64 %".19", 512
  %".21" = select  i1 %".20", i64 %".19", i64 512
  br label %"j.loop"
j.loop:
  %"j" = phi  i64 [%".15", %"start"], [%"j.next", %"i.done"]
  %".23" = icmp slt i64 %"j", %".21"
  br i1 %".23", label %"j.body", label %"j.done"
j.body:
  br label %"i.loop"
j.done:
  br label %"e0.loop"
i.loop:
  %"i" = phi  i64 [0, %"j.body"], [%"i.next", %"kt.done"]
  %".26" = icmp slt i64 %"i", 1
  br i1 %".26", label %"i.body", label %"i.done"
i.body:
  %".28" = mul i64 %"i", 512
  %".29" = getelementptr float, float* %"relu1.1", i64 %".28"
  %".30" = mul i64 %"j", 512
  %".31" = getelementptr float, float* %"fc2.weight.1", i64 %".30"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc0"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc1"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc2"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc3"
  br label %"k.loop"
i.done:
  %"j.next" = add i64 %"j", 1
  br label %"j.loop"
k.loop:
  %"k" = phi  i64 [0, %"i.body"], [%"k.next", %"k.body"]
  %".37" = icmp slt i64 %"k", 512
  br i1 %".37", label %"k.body", label %"k.done"
k.body:
  %".39" = getelementptr float, float* %".29", i64 %"k"
  %".40" = bitcast float* %".39" to <8 x float>*
  %".41" = load <8 x float>, <8 x float>* %".40", align 4
  %".42" = getelementptr float, float* %".31", i64 %"k"
  %".43" = bitcast float* %".42" to <8 x float>*
  %".44" = load <8 x float>, <8 x float>* %".43", align 4
  %".45" = load <8 x float>, <8 x float>* %"acc0"
  %".46" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".41", <8 x float> %".44", <8 x float> %".45")
  store <8 x float> %".46", <8 x float>* %"acc0"
  %".48" = add i64 %"k", 8
  %".49" = getelementptr float, float* %".29", i64 %".48"
  %".50" = bitcast float* %".49" to <8 x float>*
  %".51" = load <8 x float>, <8 x float>* %".50", align 4
  %".52" = getelementptr float, float* %".31", i64 %".48"
  %".53" = bitcast float* %".52" to <8 x float>*
  %".54" = load <8 x float>, <8 x float>* %".53", align 4
  %".55" = load <8 x float>, <8 x float>* %"acc1"
  %".56" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".51", <8 x float> %".54", <8 x float> %".55")
  store <8 x float> %".56", <8 x float>* %"acc1"
  %".58" = add i64 %"k", 16
  %".59" = getelementptr float, float* %".29", i64 %".58"
  %".60" = bitcast float* %".59" to <8 x float>*
  %".61" = load <8 x float>, <8 x float>* %".60", align 4
  %".62" = getelementptr float, float* %".31", i64 %".58"
  %".63" = bitcast float* %".62" to <8 x float>*
  %".64" = load <8 x float>, <8 x float>* %".63", align 4
  %".65" = load <8 x float>, <8 x float>* %"acc2"
  %".66" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".61", <8 x float> %".64", <8 x float> %".65")
  store <8 x float> %".66", <8 x float>* %"acc2"
  %".68" = add i64 %"k", 24
  %".69" = getelementptr float, float* %".29", i64 %".68"
  %".70" = bitcast float* %".69" to <8 x float>*
  %".71" = load <8 x float>, <8 x float>* %".70", align 4
  %".72" = getelementptr float, float* %".31", i64 %".68"
  %".73" = bitcast float* %".72" to <8 x float>*
  %".74" = load <8 x float>, <8 x float>* %".73", align 4
  %".75" = load <8 x float>, <8 x float>* %"acc3"
  %".76" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".71", <8 x float> %".74", <8 x float> %".75")
  store <8 x float> %".76", <8 x float>* %"acc3"
  %"k.next" = add i64 %"k", 32
  br label %"k.loop"
k.done:
  store float              0x0, float* %"tail"
  br label %"kt.loop"
kt.loop:
  %"kt" = phi  i64 [512, %"k.done"], [%"kt.next", %"kt.body"]
  %".81" = icmp slt i64 %"kt", 512
  br i1 %".81", label %"kt.body", label %"kt.done"
kt.body:
  %".83" = getelementptr float, float* %".29", i64 %"kt"
  %".84" = load float, float* %".83"
  %".85" = getelementptr float, float* %".31", i64 %"kt"
  %".86" = load float, float* %".85"
  %".87" = load float, float* %"tail"
  %".88" = call float @"llvm.fma.f32"(float %".84", float %".86", float %".87")
  store float %".88", float* %"tail"
  %"kt.next" = add i64 %"kt", 1
  br label %"kt.loop"
kt.done:
  %".91" = load <8 x float>, <8 x float>* %"acc0"
  %".92" = load <8 x float>, <8 x float>* %"acc1"
  %".93" = fadd <8 x float> %".91", %".92"
  %".94" = load <8 x float>, <8 x float>* %"acc2"
  %".95" = fadd <8 x float> %".93", %".94"
  %".96" = load <8 x float>, <8 x float>* %"acc3"
  %".97" = fadd <8 x float> %".95", %".96"
  %".98" = load float, float* %"tail"
  %".99" = extractelement <8 x float> %".97", i64 0
  %".100" = fadd float %".98", %".99"
  %".101" = extractelement <8 x float> %".97", i64 1
  %".102" = fadd float %".100", %".101"
  %".103" = extractelement <8 x float> %".97", i64 2
  %".104" = fadd float %".102", %".103"
  %".105" = extractelement <8 x float> %".97", i64 3
  %".106" = fadd float %".104", %".105"
  %".107" = extractelement <8 x float> %".97", i64 4
  %".108" = fadd float %".106", %".107"
  %".109" = extractelement <8 x float> %".97", i64 5
  %".110" = fadd float %".108", %".109"
  %".111" = extractelement <8 x float> %".97", i64 6
  %".112" = fadd float %".110", %".111"
  %".113" = extractelement <8 x float> %".97", i64 7
  %".114" = fadd float %".112", %".113"
  %".115" = getelementptr float, float* %"fc2.bias.1", i64 %"j"
  %".116" = load float, float* %".115"
  %".117" = fadd float %".114", %".116"
  %".118" = mul i64 %"i", 512
  %".119" = add i64 %".118", %"j"
  %".120" = getelementptr float, float* %"fc2", i64 %".119"
  store float %".117", float* %".120"
  %"i.next" = add i64 %"i", 1
  br label %"i.loop"
e0.loop:
  %"e0" = phi  i64 [0, %"j.done"], [%"e0.next", %"e1.done"]
  %".125" = icmp slt i64 %"e0", 1
  br i1 %".125", label %"e0.body", label %"e0.done"
e0.body:
  br label %"e1.loop"
e0.done:
  ret void
e1.loop:
  %"e1" = phi  i64 [%".15", %"e0.body"], [%"e1.next", %"e1.body"]
  %".128" = icmp slt i64 %"e1", %".21"
  br i1 %".128", label %"e1.body", label %"e1.done"
e1.body:
  %".130" = mul i64 %"e0", 512
  %".131" = add i64 %".130", %"e1"
  %".132" = getelementptr float, float* %"fc2", i64 %".131"
  %"fc2.1" = load float, float* %".132"
  %".133" = fcmp olt float %"fc2.1",              0x0
  %".134" = select  i1 %".133", float              0x0, float %"fc2.1"
  %".135" = getelementptr float, float* %"relu2", i64 %".131"
  store float %".134", float* %".135"
  %"e1.next" = add i64 %"e1", 1
  br label %"e1.loop"
e1.done:
  %"e0.next" = add i64 %"e0", 1
  br label %"e0.loop"
}

declare <8 x float> @"llvm.fma.v8f32"(<8 x float> %".1", <8 x float> %".2", <8 x float> %".3")

declare float @"llvm.fma.f32"(float %".1", float %".2", float %".3")

define void @"netc_k_efbc201f3307a8b1db00"(i8* %".1", i64 %".2", i64 %".3")
{
entry:
  br label %"start"
start:
  %"table" = bitcast i8* %".1" to i8**
  %".6" = getelementptr i8*, i8** %"table", i64 0
  %".7" = load i8*, i8** %".6"
  %".8" = getelementptr i8*, i8** %"table", i64 1
  %".9" = load i8*, i8** %".8"
  %".10" = getelementptr i8*, i8** %"table", i64 2
  %".11" = load i8*, i8** %".10"
  %".12" = getelementptr i8*, i8** %"table", i64 3
  %".13" = load i8*, i8** %".12"
  %".14" = getelementptr i8*, i8** %"table", i64 4
  %".15" = load i8*, i8** %".14"
  %".16" = getelementptr i8*, i8** %"table", i64 5
  %".17" = load i8*, i8** %".16"
  call void @"k2_fc2.body"(i8* %".7", i8* %".9", i8* %".11", i8* %".13", i8* %".15", i8* %".17", i64 %".2", i64 %".3")
  ret void
}
; ===== k3_fc3 (netc_k_f631547a9fede874e8e5)
; ModuleID = "k3_fc3"
target triple = "x86_64-unknown-linux-gnu"
target datalayout = ""

define internal void @"k3_fc3.body"(i8* %"services", i8* noalias %"relu2", i8* noalias %"fc3.weight", i8* noalias %"fc3.bias", i8* noalias %"fc3", i8* noalias %"workspace", i64 %"task", i64 %"thread")
{
entry:
  %"acc0" = alloca <8 x float>
  %"acc1" = alloca <8 x float>
  %"acc2" = alloca <8 x float>
  %"acc3" = alloca <8 x float>
  %"tail" = alloca float
  br label %"start"
start:
  %"relu2.1" = bitcast i8* %"relu2" to float*
  %"fc3.weight.1" = bitcast i8* %"fc3.weight" to float*
  %"fc3.bias.1" = bitcast i8* %"fc3.bias" to float*
  %"fc3.1" = bitcast i8* %"fc3" to float*
  %".11" = mul i64 %"thread", 1171840
  %".12" = getelementptr i8, i8* %"workspace", i64 %".11"
  br label %"image.loop"
image.loop:
  %"image" = phi  i64 [0, %"start"], [%"image.next", %"j.done"]
  %".14" = icmp slt i64 %"image", 1
  br i1 %".14", label %"image.body", label %"image.done"
image.body:
  %".16" = sdiv i64 0, 1
  %".17" = mul i64 %".16", 16
  %".18" = add i64 0, 1
  %".19" = sdiv i64 %".18", 1
  %".20" = mul i64 %".19", 16
  %".21" = icmp slt i64 %".20", 10
  %".22" = select  i1 %".21", i64 %".20", i64 10
  br label %"j.loop"
image.done:
  ret void
j.loop:
  %"j" = phi  i64 [%".17", %"image.body"], [%"j.next", %"i.done"]
  %".24" = icmp slt i64 %"j", %".22"
  br i1 %".24", label %"j.body", label %"j.done"
j.body:
  br label %"i.loop"
j.done:
  %"image.next" = add i64 %"image", 1
  br label %"image.loop"
i.loop:
  %"i" = phi  i64 [0, %"j.body"], [%"i.next", %"kt.done"]
  %".27" = icmp slt i64 %"i", 1
  br i1 %".27", label %"i.body", label %"i.done"
i.body:
  %".29" = mul i64 %"i", 512
  %".30" = getelementptr float, float* %"relu2.1", i64 %".29"
  %".31" = mul i64 %"j", 512
  %".32" = getelementptr float, float* %"fc3.weight.1", i64 %".31"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc0"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc1"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc2"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc3"
  br label %"k.loop"
i.done:
  %"j.next" = add i64 %"j", 1
  br label %"j.loop"
k.loop:
  %"k" = phi  i64 [0, %"i.body"], [%"k.next", %"k.body"]
  %".38" = icmp slt i64 %"k", 512
  br i1 %".38", label %"k.body", label %"k.done"
k.body:
  %".40" = getelementptr float, float* %".30", i64 %"k"
  %".41" = bitcast float* %".40" to <8 x float>*
  %".42" = load <8 x float>, <8 x float>* %".41", align 4
  %".43" = getelementptr float, float* %".32", i64 %"k"
  %".44" = bitcast float* %".43" to <8 x float>*
  %".45" = load <8 x float>, <8 x float>* %".44", align 4
  %".46" = load <8 x float>, <8 x float>* %"acc0"
  %".47" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".42", <8 x float> %".45", <8 x float> %".46")
  store <8 x float> %".47", <8 x float>* %"acc0"
  %".49" = add i64 %"k", 8
  %".50" = getelementptr float, float* %".30", i64 %".49"
  %".51" = bitcast float* %".50" to <8 x float>*
  %".52" = load <8 x float>, <8 x float>* %".51", align 4
  %".53" = getelementptr float, float* %".32", i64 %".49"
  %".54" = bitcast float* %".53" to <8 x float>*
  %".55" = load <8 x float>, <8 x float>* %".54", align 4
  %".56" = load <8 x float>, <8 x float>* %"acc1"
  %".57" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".52", <8 x float> %".55", <8 x float> %".56")
  store <8 x float> %".57", <8 x float>* %"acc1"
  %".59" = add i64 %"k", 16
  %".60" = getelementptr float, float* %".30", i64 %".59"
  %".61" = bitcast float* %".60" to <8 x float>*
  %".62" = load <8 x float>, <8 x float>* %".61", align 4
  %".63" = getelementptr float, float* %".32", i64 %".59"
  %".64" = bitcast float* %".63" to <8 x float>*
  %".65" = load <8 x float>, <8 x float>* %".64", align 4
  %".66" = load <8 x float>, <8 x float>* %"acc2"
  %".67" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".62", <8 x float> %".65", <8 x float> %".66")
  store <8 x float> %".67", <8 x float>* %"acc2"
  %".69" = add i64 %"k", 24
  %".70" = getelementptr float, float* %".30", i64 %".69"
  %".71" = bitcast float* %".70" to <8 x float>*
  %".72" = load <8 x float>, <8 x float>* %".71", align 4
  %".73" = getelementptr float, float* %".32", i64 %".69"
  %".74" = bitcast float* %".73" to <8 x float>*
  %".75" = load <8 x float>, <8 x float>* %".74", align 4
  %".76" = load <8 x float>, <8 x float>* %"acc3"
  %".77" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".72", <8 x float> %".75", <8 x float> %".76")
  store <8 x float> %".77", <8 x float>* %"acc3"
  %"k.next" = add i64 %"k", 32
  br label %"k.loop"
k.done:
  store float              0x0, float* %"tail"
  br label %"kt.loop"
kt.loop:
  %"kt" = phi  i64 [512, %"k.done"], [%"kt.next", %"kt.body"]
  %".82" = icmp slt i64 %"kt", 512
  br i1 %".82", label %"kt.body", label %"kt.done"
kt.body:
  %".84" = getelementptr float, float* %".30", i64 %"kt"
  %".85" = load float, float* %".84"
  %".86" = getelementptr float, float* %".32", i64 %"kt"
  %".87" = load float, float* %".86"
  %".88" = load float, float* %"tail"
  %".89" = call float @"llvm.fma.f32"(float %".85", float %".87", float %".88")
  store float %".89", float* %"tail"
  %"kt.next" = add i64 %"kt", 1
  br label %"kt.loop"
kt.done:
  %".92" = load <8 x float>, <8 x float>* %"acc0"
  %".93" = load <8 x float>, <8 x float>* %"acc1"
  %".94" = fadd <8 x float> %".92", %".93"
  %".95" = load <8 x float>, <8 x float>* %"acc2"
  %".96" = fadd <8 x float> %".94", %".95"
  %".97" = load <8 x float>, <8 x float>* %"acc3"
  %".98" = fadd <8 x float> %".96", %".97"
  %".99" = load float, float* %"tail"
  %".100" = extractelement <8 x float> %".98", i64 0
  %".101" = fadd float %".99", %".100"
  %".102" = extractelement <8 x float> %".98", i64 1
  %".103" = fadd float %".101", %".102"
  %".104" = extractelement <8 x float> %".98", i64 2
  %".105" = fadd float %".103", %".104"
  %".106" = extractelement <8 x float> %".98", i64 3
  %".107" = fadd float %".105", %".106"
  %".108" = extractelement <8 x float> %".98", i64 4
  %".109" = fadd float %".107", %".108"
  %".110" = extractelement <8 x float> %".98", i64 5
  %".111" = fadd float %".109", %".110"
  %".112" = extractelement <8 x float> %".98", i64 6
  %".113" = fadd float %".111", %".112"
  %".114" = extractelement <8 x float> %".98", i64 7
  %".115" = fadd float %".113", %".114"
  %".116" = getelementptr float, float* %"fc3.bias.1", i64 %"j"
  %".117" = load float, float* %".116"
  %".118" = fadd float %".115", %".117"
  %".119" = mul i64 %"i", 10
  %".120" = add i64 %".119", %"j"
  %".121" = getelementptr float, float* %"fc3.1", i64 %".120"
  store float %".118", float* %".121"
  %"i.next" = add i64 %"i", 1
  br label %"i.loop"
}

declare <8 x float> @"llvm.fma.v8f32"(<8 x float> %".1", <8 x float> %".2", <8 x float> %".3")

declare float @"llvm.fma.f32"(float %".1", float %".2", float %".3")

define void @"netc_k_f631547a9fede874e8e5"(i8* %".1", i64 %".2", i64 %".3")
{
entry:
  br label %"start"
start:
  %"table" = bitcast i8* %".1" to i8**
  %".6" = getelementptr i8*, i8** %"table", i64 0
  %".7" = load i8*, i8** %".6"
  %".8" = getelementptr i8*, i8** %"table", i64 1
  %".9" = load i8*, i8** %".8"
  %".10" = getelementptr i8*, i8** %"table", i64 2
  %".11" = load i8*, i8** %".10"
  %".12" = getelementptr i8*, i8** %"table", i64 3
  %".13" = load i8*, i8** %".12"
  %".14" = getelementptr i8*, i8** %"table", i64 4
  %".15" = load i8*, i8** %".14"
  %".16" = getelementptr i8*, i8** %"table", i64 5
  %".17" = load i8*, i8** %".16"
  call void @"k3_fc3.body"(i8* %".7", i8* %".9", i8* %".11", i8* %".13", i8* %".15", i8* %".17", i64 %".2", i64 %".3")
  ret void
}
; ===== entry (netc_forward)
; ModuleID = "mlp.netc_forward"
target triple = "x86_64-unknown-linux-gnu"
target datalayout = ""

define void @"netc_forward"(i8** %"args")
{
entry:
  %"k1_fc1.table" = alloca [6 x i8*]
  %"k2_fc2.table" = alloca [6 x i8*]
  %"k3_fc3.table" = alloca [6 x i8*]
  br label %"start"
start:
  %"arena" = load i8*, i8** %"args"
  %".4" = getelementptr i8*, i8** %"args", i64 2
  %"persistent" = load i8*, i8** %".4"
  %".5" = getelementptr i8*, i8** %"args", i64 1
  %"services" = load i8*, i8** %".5"
  %".6" = getelementptr i8*, i8** %"args", i64 4
  %"output" = load i8*, i8** %".6"
  %".7" = bitcast i8* %"services" to i8**
  %"parallel_for" = load i8*, i8** %".7"
  %".8" = bitcast i8* %"parallel_for" to void (i8*, i8*, i64)*
  %".9" = getelementptr i8, i8* %"arena", i64 0
  %".10" = getelementptr i8*, i8** %"args", i64 3
  %"input0" = load i8*, i8** %".10"
  %".11" = getelementptr i8, i8* %"persistent", i64 0
  %".12" = getelementptr i8, i8* %"persistent", i64 1605632
  %"workspace" = getelementptr i8, i8* %"arena", i64 4096
  %".13" = getelementptr [6 x i8*], [6 x i8*]* %"k1_fc1.table", i64 0, i64 0
  store i8* %"services", i8** %".13"
  %".15" = getelementptr [6 x i8*], [6 x i8*]* %"k1_fc1.table", i64 0, i64 1
  store i8* %".9", i8** %".15"
  %".17" = getelementptr [6 x i8*], [6 x i8*]* %"k1_fc1.table", i64 0, i64 2
  store i8* %"input0", i8** %".17"
  %".19" = getelementptr [6 x i8*], [6 x i8*]* %"k1_fc1.table", i64 0, i64 3
  store i8* %".11", i8** %".19"
  %".21" = getelementptr [6 x i8*], [6 x i8*]* %"k1_fc1.table", i64 0, i64 4
  store i8* %".12", i8** %".21"
  %".23" = getelementptr [6 x i8*], [6 x i8*]* %"k1_fc1.table", i64 0, i64 5
  store i8* %"workspace", i8** %".23"
  %".25" = bitcast [6 x i8*]* %"k1_fc1.table" to i8*
  %".26" = bitcast void (i8*, i64, i64)* @"netc_k_84f1baf9096a8abeaf19" to i8*
  call void %".8"(i8* %".26", i8* %".25", i64 4)
  %".28" = getelementptr i8, i8* %"arena", i64 2048
  %".29" = getelementptr i8, i8* %"arena", i64 0
  %".30" = getelementptr i8, i8* %"persistent", i64 1607680
  %".31" = getelementptr i8, i8* %"persistent", i64 2656256
  %"workspace.1" = getelementptr i8, i8* %"arena", i64 4096
  %".32" = getelementptr [6 x i8*], [6 x i8*]* %"k2_fc2.table", i64 0, i64 0
  store i8* %"services", i8** %".32"
  %".34" = getelementptr [6 x i8*], [6 x i8*]* %"k2_fc2.table", i64 0, i64 1
  store i8* %".28", i8** %".34"
  %".36" = getelementptr [6 x i8*], [6 x i8*]* %"k2_fc2.table", i64 0, i64 2
  store i8* %".29", i8** %".36"
  %".38" = getelementptr [6 x i8*], [6 x i8*]* %"k2_fc2.table", i64 0, i64 3
  store i8* %".30", i8** %".38"
  %".40" = getelementptr [6 x i8*], [6 x i8*]* %"k2_fc2.table", i64 0, i64 4
  store i8* %".31", i8** %".40"
  %".42" = getelementptr [6 x i8*], [6 x i8*]* %"k2_fc2.table", i64 0, i64 5
  store i8* %"workspace.1", i8** %".42"
  %".44" = bitcast [6 x i8*]* %"k2_fc2.table" to i8*
  %".45" = bitcast void (i8*, i64, i64)* @"netc_k_efbc201f3307a8b1db00" to i8*
  call void %".8"(i8* %".45", i8* %".44", i64 4)
  %".47" = getelementptr i8, i8* %"arena", i64 2048
  %".48" = getelementptr i8, i8* %"persistent", i64 2658304
  %".49" = getelementptr i8, i8* %"persistent", i64 2678784
  %".50" = getelementptr i8, i8* %"output", i64 0
  %"workspace.2" = getelementptr i8, i8* %"arena", i64 4096
  %".51" = getelementptr [6 x i8*], [6 x i8*]* %"k3_fc3.table", i64 0, i64 0
  store i8* %"services", i8** %".51"
  %".53" = getelementptr [6 x i8*], [6 x i8*]* %"k3_fc3.table", i64 0, i64 1
  store i8* %".47", i8** %".53"
  %".55" = getelementptr [6 x i8*], [6 x i8*]* %"k3_fc3.table", i64 0, i64 2
  store i8* %".48", i8** %".55"
  %".57" = getelementptr [6 x i8*], [6 x i8*]* %"k3_fc3.table", i64 0, i64 3
  store i8* %".49", i8** %".57"
  %".59" = getelementptr [6 x i8*], [6 x i8*]* %"k3_fc3.table", i64 0, i64 4
  store i8* %".50", i8** %".59"
  %".61" = getelementptr [6 x i8*], [6 x i8*]* %"k3_fc3.table", i64 0, i64 5
  store i8* %"workspace.2", i8** %".61"
  %".63" = bitcast [6 x i8*]* %"k3_fc3.table" to i8*
  call void @"netc_k_f631547a9fede874e8e5"(i8* %".63", i64 0, i64 0)
  ret void
}

declare i64 @"llvm.readcyclecounter"()

declare void @"netc_k_84f1baf9096a8abeaf19"(i8* %".1", i64 %".2", i64 %".3")

declare void @"netc_k_efbc201f3307a8b1db00"(i8* %".1", i64 %".2", i64 %".3")

declare void @"netc_k_f631547a9fede874e8e5"(i8* %".1", i64 %".2", i64 %".3")
